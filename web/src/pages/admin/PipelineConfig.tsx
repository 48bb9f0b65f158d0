export default function P() { return <section><h1>PipelineConfig</h1></section>; }
