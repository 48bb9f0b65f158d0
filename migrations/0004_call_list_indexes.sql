-- Call list indexes that cover the list's filters.
--
-- The list reads one business's calls in (sort key, id) order and filters them. With
-- (bid, key) indexes every candidate row cost a clustered-index lookup before its filters
-- could be checked; on 1M calls three filters meant thousands of lookups per page. These
-- indexes carry id explicitly right after the sort key (so ORDER BY key, id needs no sort)
-- followed by every filtered column, so InnoDB evaluates the filters inside the index
-- and only the rows of the page are looked up (the list query reads ids from the index
-- first, then joins the page's rows by primary key).
--
-- An agent filter is the one selective filter a list commonly has: ix_calls_list_agent
-- serves it for every sort (in start order directly, other sorts sort just that agent's
-- matching ids).
ALTER TABLE call_records
  DROP INDEX ix_calls_bid_started,
  DROP INDEX ix_calls_bid_duration,
  DROP INDEX ix_calls_bid_sentiment,
  DROP INDEX ix_calls_bid_qa,
  DROP INDEX ix_calls_bid_created,
  DROP INDEX ix_calls_bid_agent_started,
  DROP INDEX ix_calls_bid_status_started,  -- status filters are covered by the list indexes
  ADD INDEX ix_calls_list_agent (bid, human_agent_id, started_at, id, status,
    agent_talk_ratio, customer_sentiment, language, city, issue_category, duration_ms,
    sentiment_key, qa_key),
  ADD INDEX ix_calls_list_started (bid, started_at, id, status, human_agent_id,
    agent_talk_ratio, customer_sentiment, language, city, issue_category),
  ADD INDEX ix_calls_list_duration (bid, duration_ms, id, started_at, status, human_agent_id,
    agent_talk_ratio, customer_sentiment, language, city, issue_category),
  ADD INDEX ix_calls_list_sentiment (bid, sentiment_key, id, started_at, status,
    human_agent_id, agent_talk_ratio, customer_sentiment, language, city, issue_category),
  ADD INDEX ix_calls_list_qa (bid, qa_key, id, started_at, status, human_agent_id,
    agent_talk_ratio, customer_sentiment, language, city, issue_category);
