export default function P() { return <section><h1>Categories</h1></section>; }
