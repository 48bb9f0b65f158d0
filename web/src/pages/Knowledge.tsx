export default function KnowledgePage() {
  return (
    <section>
      <h1>Knowledge</h1>
    </section>
  );
}
