-- Prompt tokens a node took from its prefix cache instead of prefilling them (OpenAI's
-- usage.prompt_tokens_details.cached_tokens), recorded on each charge line. Documented in docs/ledger.md.
--
-- Only a charge line has them, and never more than its prompt tokens; every other kind has 0. They are priced as any
-- prompt token until the rate card gives them a price of their own. Lines written before this migration read 0 (a
-- constant default rewrites no row and fires no trigger, so the append-only ledger keeps its lines as they are).
ALTER TABLE tokengrid_ledger
    ADD COLUMN cached_prompt_tokens bigint NOT NULL DEFAULT 0 CHECK (cached_prompt_tokens >= 0);

ALTER TABLE tokengrid_ledger ADD CONSTRAINT tokengrid_ledger_cached_within_prompt CHECK (
    cached_prompt_tokens <= prompt_tokens) NOT VALID;
