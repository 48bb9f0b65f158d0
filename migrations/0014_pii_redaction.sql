-- PII redaction served to callers without pii:read (docs/security.md, "Personal data").
-- Transcripts stay stored raw; the analyze stage adds the redacted form beside them: the
-- segments and full text with every finding replaced by its placeholder (the call list's
-- text filter matches the redacted text for such callers, hence its FULLTEXT index), and the
-- recording's redacted copy (each finding's time range replaced by a tone) in the object
-- store under the business's prefix. `redacted_version` is the transcript version the
-- redaction was made from: a rewritten transcript (version + 1) clears the redacted text,
-- and the redacted recording is served only while its version is the transcript's.
-- `redact_pii` is the business setting (on by default).
-- Re-runnable: columns and indexes are added only if absent.
ALTER TABLE transcripts
  ADD COLUMN IF NOT EXISTS redacted_segments JSON NULL,
  ADD COLUMN IF NOT EXISTS redacted_text MEDIUMTEXT NULL,
  ADD COLUMN IF NOT EXISTS redacted_version INT UNSIGNED NULL,
  ADD COLUMN IF NOT EXISTS redacted_audio_uri VARCHAR(1024) NOT NULL DEFAULT '';

-- index without bid: transcripts.ft_transcripts_redacted (a FULLTEXT index cannot lead with bid; queries join back through call_records on (bid, id) like ft_transcripts_text)
ALTER TABLE transcripts
  ADD FULLTEXT INDEX IF NOT EXISTS ft_transcripts_redacted (redacted_text);

ALTER TABLE business_pipeline_config
  ADD COLUMN IF NOT EXISTS redact_pii TINYINT(1) NOT NULL DEFAULT 1;
