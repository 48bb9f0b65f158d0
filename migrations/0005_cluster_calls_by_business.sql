-- Cluster call rows by business and start time.
--
-- InnoDB stores rows in primary-key order. With PRIMARY KEY (id) the rows of one business
-- were scattered among every other business's, so a page of 50 calls in start order read
-- about 50 different data pages. With (bid, started_at, id) a business's calls sit together
-- in start order: the default list view (newest first) reads a page of calls from one or two
-- data pages, and a business's working set is compact. id stays unique (uq_calls_id) and is
-- still what every other table references; lookups by id go through that index.
-- Re-runnable: a client that lost its connection while the server finished the rebuild
-- leaves the file unrecorded, and the next run must not fail on the existing key.
ALTER TABLE call_records
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (bid, started_at, id),
  ADD UNIQUE KEY IF NOT EXISTS uq_calls_id (id);
