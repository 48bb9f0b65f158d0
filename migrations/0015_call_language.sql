-- Calls that are not in English (docs/analyze.md "Language"): the language of each call and
-- where it came from (the speech provider's answer, the offline detector, the business's
-- setting), an English rendering kept beside the original transcript (same speakers and
-- times; from Sarvam's speech-to-English or the business's LLM chain), and the business
-- setting of the optional LLM sentiment pass (off by default).
-- Re-runnable: each column is added only if absent.
ALTER TABLE transcripts
  ADD COLUMN IF NOT EXISTS language_source VARCHAR(16) NOT NULL DEFAULT '' AFTER language,
  ADD COLUMN IF NOT EXISTS english_segments JSON NULL,
  ADD COLUMN IF NOT EXISTS english_source VARCHAR(16) NOT NULL DEFAULT '';

ALTER TABLE business_pipeline_config
  ADD COLUMN IF NOT EXISTS llm_sentiment TINYINT(1) NOT NULL DEFAULT 0;
