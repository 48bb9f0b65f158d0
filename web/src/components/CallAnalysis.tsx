// The call page's analysis sections in one module, loaded with React.lazy by the call page so
// that the first load of the app (the calls list) does not carry them.
export { CallCategories } from "./CallCategories";
export { CallFigures } from "./CallFigures";
export { AgentOutput, CallSummary, PiiNote } from "./CallOutput";
export { CallQa } from "./CallQa";
export { CoachingNudges, SimilarCalls } from "./CallRelated";
export { CallSentiment } from "./CallSentiment";
