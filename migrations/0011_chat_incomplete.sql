-- Chat answers cut short (issue 15): when the client goes away, the deadline passes or the
-- LLM fails in the middle of its answer, the gateway aborts the provider's request and
-- still stores the turn with the text that had arrived; `incomplete` says why ('' for a
-- whole answer: client_gone, timeout, llm_failed).
ALTER TABLE chat_messages
  ADD COLUMN IF NOT EXISTS incomplete VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''
  AFTER output_tokens;
