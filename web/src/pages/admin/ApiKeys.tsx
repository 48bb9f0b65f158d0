export default function P() { return <section><h1>ApiKeys</h1></section>; }
