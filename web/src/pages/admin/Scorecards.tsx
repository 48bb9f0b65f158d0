export default function P() { return <section><h1>Scorecards</h1></section>; }
