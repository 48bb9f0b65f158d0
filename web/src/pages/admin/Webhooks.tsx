export default function P() { return <section><h1>Webhooks</h1></section>; }
