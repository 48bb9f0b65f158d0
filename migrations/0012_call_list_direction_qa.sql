-- The call list filters on direction and on the QA score too: the list indexes carry
-- `direction` and `qa_key` (the score, or -1000 when not scored) after their other filtered
-- columns, so those filters are checked on index entries like the others (0004) instead of
-- costing a row lookup per candidate. ix_calls_list_agent already held qa_key and
-- ix_calls_list_qa leads with it. A matched-category filter needs no index here: it probes
-- call_category_matches' primary key (bid, call_id, category_id).
-- Re-runnable: each index is dropped if present and added again.
ALTER TABLE call_records
  DROP INDEX IF EXISTS ix_calls_list_agent,
  DROP INDEX IF EXISTS ix_calls_list_started,
  DROP INDEX IF EXISTS ix_calls_list_duration,
  DROP INDEX IF EXISTS ix_calls_list_sentiment,
  DROP INDEX IF EXISTS ix_calls_list_qa,
  ADD INDEX ix_calls_list_agent (bid, human_agent_id, started_at, id, status,
    agent_talk_ratio, customer_sentiment, language, city, issue_category, duration_ms,
    sentiment_key, qa_key, direction),
  ADD INDEX ix_calls_list_started (bid, started_at, id, status, human_agent_id,
    agent_talk_ratio, customer_sentiment, language, city, issue_category, direction, qa_key),
  ADD INDEX ix_calls_list_duration (bid, duration_ms, id, started_at, status, human_agent_id,
    agent_talk_ratio, customer_sentiment, language, city, issue_category, direction, qa_key),
  ADD INDEX ix_calls_list_sentiment (bid, sentiment_key, id, started_at, status,
    human_agent_id, agent_talk_ratio, customer_sentiment, language, city, issue_category,
    direction, qa_key),
  ADD INDEX ix_calls_list_qa (bid, qa_key, id, started_at, status, human_agent_id,
    agent_talk_ratio, customer_sentiment, language, city, issue_category, direction);
