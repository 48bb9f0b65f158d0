-- Data lifecycle (docs/storage.md "Data lifecycle"): the sync worker's sweep hashes the
-- phones of finished calls and deletes calls past the business's retention with the
-- notification deliveries that quote them; the call list finds a call by its customer's
-- number, clear or hashed.
-- Re-runnable: each index is added only if absent.
ALTER TABLE call_records
  ADD INDEX IF NOT EXISTS ix_calls_bid_phone (bid, customer_phone),
  ADD INDEX IF NOT EXISTS ix_calls_phone_pending (bid, customer_phone_hashed, status);

ALTER TABLE webhook_deliveries
  ADD INDEX IF NOT EXISTS ix_deliveries_bid_call (bid, call_id);
