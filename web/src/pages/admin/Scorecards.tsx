import { RulesEditor } from "./RulesEditor";

export default function ScorecardsPage() {
  return <RulesEditor kind="scorecards" title="Scorecards" rowTestId="scorecard-row" />;
}
