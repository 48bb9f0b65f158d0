import { useEffect, useMemo } from "react";
import { useSearchParams } from "react-router-dom";
import { parseRange, rangeToApi, rangeToParams, type DateRange } from "./daterange";

// The page's date range from the URL; the default range is written into the URL (replacing
// the history entry) so the address always names the days shown.
export function useRange() {
  const [params, setParams] = useSearchParams();
  const parsed = useMemo(() => parseRange(params, new Date()), [params]);
  const missing = !params.get("from") || !params.get("to");
  useEffect(() => {
    if (missing && parsed.problems.length === 0) setParams(rangeToParams(parsed.range, params), { replace: true });
  }, [missing, parsed, params, setParams]);
  const api = useMemo(() => rangeToApi(parsed.range), [parsed.range]);
  const apply = (r: DateRange) => setParams(rangeToParams(r, params));
  return { params, setParams, range: parsed.range, problems: parsed.problems, api, apply };
}
