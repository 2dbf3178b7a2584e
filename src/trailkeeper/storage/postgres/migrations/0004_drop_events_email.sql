-- No query is driven by events_email: an actor filter given as an email is resolved
-- to actor ids through actor_texts first (storage/planning.py), so events_actor answers
-- it, and the email itself is only a residual filter on those rows. The index cost every
-- ingested event one more B-tree insert: a page per distinct email in each batch.
DROP INDEX events_email;
