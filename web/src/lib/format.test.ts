import { describe, expect, it } from "vitest";
import { formatDuration, formatNumber, joinCsvPages } from "./format";

describe("formatDuration", () => {
  it("writes m:ss and h:mm:ss", () => {
    expect(formatDuration(754_000)).toBe("12:34");
    expect(formatDuration(3_723_000)).toBe("1:02:03");
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(null)).toBe("—");
  });
});

describe("formatNumber", () => {
  it("rounds and marks missing values", () => {
    expect(formatNumber(-0.256)).toBe("-0.26");
    expect(formatNumber(undefined)).toBe("—");
  });
});

describe("joinCsvPages", () => {
  it("keeps the first header and drops the repeated ones", () => {
    expect(joinCsvPages(["id,city\r\n1,Pune\r\n", "id,city\r\n2,Delhi\r\n", "id,city\r\n"])).toBe(
      "id,city\r\n1,Pune\r\n2,Delhi\r\n",
    );
    expect(joinCsvPages(["id\n1", "id\n2"])).toBe("id\n1\n2\n");
    expect(joinCsvPages([])).toBe("");
  });
});
