// The spend view: polls GET /admin/billing/overview (the session cookie authenticates it) and shows the figures as
// served. Amounts stay the API's exact decimal strings; only the bars compare them, as numbers.
(() => {
  'use strict';

  const REFRESH_MS = 10000;
  const status = document.getElementById('status');
  const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

  function cell(value) {
    const td = document.createElement('td');
    if (value instanceof Node) td.append(value);
    else td.textContent = value === null || value === undefined ? '–' : String(value);
    return td;
  }

  function table(id, rows) {
    document.querySelector(`#${id} tbody`).replaceChildren(...rows.map(({ key, values }) => {
      const tr = document.createElement('tr');
      tr.dataset.key = key;
      tr.append(...values.map(cell));
      return tr;
    }));
  }

  // A bar of used against a whole: a <meter>, warning from 80 %.
  function bar(used, total, label) {
    const meter = document.createElement('meter');
    meter.min = 0;
    meter.max = Math.max(Number(total), Number.MIN_VALUE);
    meter.value = Math.min(Number(used), meter.max);
    meter.high = meter.max * 0.8;
    meter.optimum = 0;
    meter.title = label;
    meter.setAttribute('aria-label', label);
    return meter;
  }

  function render(o) {
    for (const [field, value] of [['currency', o.currency ?? 'none (no rate card)'], ['period', o.period], ['tenants_read', o.tenants_read], ['tenants_not_shown', o.tenants_not_shown]]) {
      for (const element of document.querySelectorAll(`[data-field="${field}"]`)) element.textContent = value;
    }
    document.getElementById('truncated').hidden = !o.tenants_truncated;

    table('tenants', o.tenants.map(t => ({
      key: t.id,
      values: [t.id, t.name, t.month_amount_due, t.spend_charged, t.spend_reserved, t.spend_cap ?? 'no cap',
        t.percent_of_cap === null ? null : `${t.percent_of_cap} %`,
        t.spend_cap === null ? null : bar(t.spend_charged, t.spend_cap, `${t.id}: ${t.spend_charged} of ${t.spend_cap}`)],
    })));
    table('programs', o.programs.map(p => ({
      key: p.id,
      values: [p.id, `${p.share_bps / 100} %`, p.budget_per_period, p.spent, p.reserved, p.remaining,
        new Date(p.period_start).toISOString().slice(0, 10),
        bar(Number(p.spent) + Number(p.reserved), p.budget_per_period, `${p.id}: ${p.spent} spent, ${p.reserved} reserved of ${p.budget_per_period}`)],
    })));
    table('revenue', o.revenue.map(r => ({
      key: `${r.model}/${r.region ?? ''}/${r.currency}`,
      values: [r.model, r.region ?? '(no region)', whole.format(r.tokens), r.list, r.discount, r.subsidy, r.amount_due],
    })));
  }

  let inFlight = false;
  async function poll() {
    if (inFlight) return;
    inFlight = true;
    try {
      const response = await fetch('/admin/billing/overview', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (response.status === 401) {
        location.assign('/dashboard'); // the session ended: sign in again
        return;
      }
      if (!response.ok) throw new Error(`GET /admin/billing/overview answered ${response.status}`);
      render(await response.json());
      status.dataset.state = 'ok';
      status.textContent = `updated ${new Date().toLocaleTimeString('en-GB')}`;
    } catch (e) {
      status.dataset.state = 'error';
      status.textContent = `not updated: ${e.message}`;
    } finally {
      inFlight = false;
    }
  }

  poll();
  setInterval(poll, REFRESH_MS);
})();
