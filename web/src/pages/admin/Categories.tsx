import { RulesEditor } from "./RulesEditor";

export default function CategoriesPage() {
  return <RulesEditor kind="categories" title="Categories" rowTestId="category-row" />;
}
