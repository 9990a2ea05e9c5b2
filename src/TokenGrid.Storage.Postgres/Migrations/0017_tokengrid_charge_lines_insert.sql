-- Silos of the release before migration 0015 write each priced charge as a row of tokengrid_charge_lines, which 0015
-- turned into a view. During a rolling update (the new build migrates while old silos still serve) and after a
-- rollback, every priced settlement of such a silo failed ("cannot insert into view"), and with it the tenant's save:
-- its admissions and settlements were answered 503 until no old silo was left. An insert into the view now lands in
-- tokengrid_charge_lines_separate, the table the view already reads and 0014's writers used, so an old silo's charge
-- reads as any other. No current silo inserts into the view (its price lives in the ledger row).
CREATE FUNCTION tokengrid_charge_lines_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tokengrid_charge_lines_separate (
        tenant_id, sequence, at, job_id, model, currency, price_version, program_id, node_id, silo, region, home_region,
        prompt_tokens, prompt_unit_price_micros, prompt_list_micros, prompt_discount_micros, prompt_subsidy_micros,
        prompt_tenant_micros, completion_tokens, completion_unit_price_micros, completion_list_micros,
        completion_discount_micros, completion_subsidy_micros, completion_tenant_micros)
    VALUES (
        NEW.tenant_id, NEW.sequence, NEW.at, NEW.job_id, NEW.model, NEW.currency, NEW.price_version, NEW.program_id,
        NEW.node_id, NEW.silo, NEW.region, NEW.home_region, NEW.prompt_tokens, NEW.prompt_unit_price_micros,
        NEW.prompt_list_micros, NEW.prompt_discount_micros, NEW.prompt_subsidy_micros, NEW.prompt_tenant_micros,
        NEW.completion_tokens, NEW.completion_unit_price_micros, NEW.completion_list_micros,
        NEW.completion_discount_micros, NEW.completion_subsidy_micros, NEW.completion_tenant_micros);
    RETURN NEW;
END
$$;

CREATE TRIGGER tokengrid_charge_lines_insert INSTEAD OF INSERT ON tokengrid_charge_lines
    FOR EACH ROW EXECUTE FUNCTION tokengrid_charge_lines_insert();
