export default function P() { return <section><h1>Businesses</h1></section>; }
