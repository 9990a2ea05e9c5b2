-- Which of a charge's tokens were the prompt's and which the completion's, so usage can be priced per direction (a
-- rate card prices input and output tokens apart). Documented in docs/ledger.md.
--
-- Only charge lines split their tokens: prompt_tokens + completion_tokens = tokens. Every other kind has 0 and 0.
-- Adding a column with a constant default changes no row (and fires no trigger), so the append-only ledger keeps its
-- lines as they are: charges written before this migration read 0 and 0, which the check below does not hold against
-- them (NOT VALID); it holds for every line written since.
ALTER TABLE tokengrid_ledger
    ADD COLUMN prompt_tokens     bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    ADD COLUMN completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0);

ALTER TABLE tokengrid_ledger ADD CONSTRAINT tokengrid_ledger_directions_add_up CHECK (
    CASE WHEN kind = 'charge' THEN prompt_tokens + completion_tokens = tokens
         ELSE prompt_tokens = 0 AND completion_tokens = 0 END) NOT VALID;

-- The usage views gain the charged tokens per direction, as their last columns.
CREATE OR REPLACE VIEW tokengrid_usage_daily AS
SELECT tenant_id,
       model,
       (at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE kind = 'reserve') AS requests,
       coalesce(sum(tokens) FILTER (WHERE kind = 'reserve'), 0)::bigint AS reserved_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded_tokens,
       coalesce(sum(prompt_tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_prompt_tokens,
       coalesce(sum(completion_tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_completion_tokens
FROM tokengrid_ledger
WHERE kind <> 'period_reset'
GROUP BY tenant_id, model, (at AT TIME ZONE 'UTC')::date;

CREATE OR REPLACE VIEW tokengrid_usage_daily_by_tenant AS
SELECT tenant_id, day, sum(requests)::bigint AS requests, sum(reserved_tokens)::bigint AS reserved_tokens,
       sum(charged_tokens)::bigint AS charged_tokens, sum(refunded_tokens)::bigint AS refunded_tokens,
       sum(charged_prompt_tokens)::bigint AS charged_prompt_tokens,
       sum(charged_completion_tokens)::bigint AS charged_completion_tokens
FROM tokengrid_usage_daily
GROUP BY tenant_id, day;

CREATE OR REPLACE VIEW tokengrid_usage_daily_by_model AS
SELECT model, day, count(DISTINCT tenant_id) AS tenants, sum(requests)::bigint AS requests,
       sum(reserved_tokens)::bigint AS reserved_tokens, sum(charged_tokens)::bigint AS charged_tokens,
       sum(refunded_tokens)::bigint AS refunded_tokens,
       sum(charged_prompt_tokens)::bigint AS charged_prompt_tokens,
       sum(charged_completion_tokens)::bigint AS charged_completion_tokens
FROM tokengrid_usage_daily
GROUP BY model, day;

CREATE OR REPLACE VIEW tokengrid_job_settlements AS
SELECT tenant_id,
       job_id,
       min(model) AS model,
       min(at) FILTER (WHERE kind = 'reserve') AS admitted_at,
       max(at) FILTER (WHERE kind IN ('charge', 'refund')) AS settled_at,
       coalesce(sum(tokens) FILTER (WHERE kind = 'reserve'), 0)::bigint AS reserved_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_tokens,
       coalesce(sum(tokens) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunded_tokens,
       count(*) FILTER (WHERE kind = 'charge') > 0 AS settled,
       coalesce(sum(prompt_tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_prompt_tokens,
       coalesce(sum(completion_tokens) FILTER (WHERE kind = 'charge'), 0)::bigint AS charged_completion_tokens
FROM tokengrid_ledger
WHERE kind <> 'period_reset'
GROUP BY tenant_id, job_id;
