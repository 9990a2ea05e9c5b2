// The planners' dashboard: polls GET /v1/capacity (the session cookie authenticates it), keeps a rolling window of
// samples in this page for the charts over time, and shows the latest figures as served, with no metric math of its own.
(() => {
  'use strict';

  const REFRESH_MS = 2000;
  const WINDOW = 150; // samples kept: 5 minutes at one every 2 s
  const PALETTE = ['#1f6feb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f', '#92400e', '#475569'];
  const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
  const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const tpmInput = document.getElementById('tenant-tpm');
  const latencyMetric = document.getElementById('latency-metric');
  const status = document.getElementById('status');
  const labels = [];

  tpmInput.value = sessionStorage.getItem('tokengrid.tenant_tpm') || tpmInput.value;
  let latencyPicked = false;
  latencyMetric.addEventListener('change', () => {
    latencyPicked = true;
    showLatency();
  });

  // The latency chart shows one measurement at a time (time to first token first), the others kept for switching.
  function showLatency() {
    for (const dataset of charts.latency.data.datasets) dataset.hidden = !dataset.key.startsWith(`${latencyMetric.value}/`);
    charts.latency.update('none');
  }

  function latencyOptions(metrics) {
    const known = Array.from(latencyMetric.options, o => o.value);
    for (const metric of metrics.filter(m => !known.includes(m))) latencyMetric.add(new Option(metric.replaceAll('_', ' '), metric));
    if (!latencyPicked) {
      latencyMetric.value = metrics.find(m => m.endsWith('time_to_first_token')) || latencyMetric.value || metrics[0] || '';
    }
  }

  tpmInput.addEventListener('change', () => {
    sessionStorage.setItem('tokengrid.tenant_tpm', tpmInput.value);
    poll();
  });

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  const lineOptions = (y, extra) => ({
    type: 'line',
    data: { labels, datasets: [] },
    options: {
      spanGaps: true,
      elements: { point: { radius: 1.5 }, line: { borderWidth: 2, tension: 0.2 } },
      interaction: { mode: 'index', intersect: false },
      scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true, title: { display: true, text: y } }, ...extra },
    },
  });

  const charts = {
    nodeThroughput: new Chart(document.getElementById('chart-node-throughput'), lineOptions('tokens/s')),
    modelThroughput: new Chart(document.getElementById('chart-model-throughput'), lineOptions('tokens/s')),
    utilization: new Chart(document.getElementById('chart-utilization'), lineOptions('%', { y: { min: 0, suggestedMax: 100, title: { display: true, text: '%' } } })),
    queue: new Chart(document.getElementById('chart-queue'), lineOptions('jobs', {
      y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'seconds' } },
    })),
    latency: new Chart(document.getElementById('chart-latency'), (() => {
      const config = lineOptions('seconds');
      config.options.plugins = { legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].hidden } } };
      return config;
    })()),
    topTenants: new Chart(document.getElementById('chart-top-tenants'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'tokens charged', data: [], backgroundColor: PALETTE[0] }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } },
    }),
    burnDown: new Chart(document.getElementById('chart-burn-down'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'hours before the period ends', data: [], backgroundColor: PALETTE[3] }] },
      options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'hours early' } } } },
    }),
  };

  // A dataset per key, created on first sight and padded with gaps for the samples before it appeared.
  function series(chart, key, label, extra) {
    let dataset = chart.data.datasets.find(d => d.key === key);
    if (!dataset) {
      const color = PALETTE[chart.data.datasets.length % PALETTE.length];
      dataset = { key, label, data: new Array(Math.max(0, labels.length - 1)).fill(null), borderColor: color, backgroundColor: color, ...extra };
      chart.data.datasets.push(dataset);
    }
    return dataset;
  }

  function record(chart, key, label, value, extra) {
    series(chart, key, label, extra).data.push(value ?? null);
  }

  // Every dataset of a line chart gets exactly one value per sample, and the window slides.
  function align(chart) {
    for (const dataset of chart.data.datasets) {
      while (dataset.data.length < labels.length) dataset.data.push(null);
      while (dataset.data.length > labels.length) dataset.data.shift();
    }
    chart.update('none');
  }

  function show(field, value, format) {
    for (const element of document.querySelectorAll(`[data-field="${field}"]`)) {
      element.textContent = value === null || value === undefined ? '–' : (format || number).format(value);
    }
  }

  const percent = value => (value === null || value === undefined ? null : value * 100);
  const percentText = value => (value === null || value === undefined ? null : `${number.format(value * 100)} %`);
  const LOWER_BOUND = 'not yet measured at a full batch';

  // A capacity or headroom as served: "≥ x" while the capacity is only a lower bound, and a headroom the API leaves
  // null under a lower bound is "unknown" (not "none").
  const bounded = (value, lowerBound, format) => {
    if (value === null || value === undefined) return lowerBound ? 'unknown' : null;
    return `${lowerBound ? '≥ ' : ''}${(format || number).format(value)}`;
  };

  // A headroom as served: as bounded, except that 0 is exact. Under a lower bound the API serves 0 only while jobs wait
  // that the free slots cannot take (a backlog), which measures a full cluster: "0", not "≥ 0".
  const headroom = (value, lowerBound, format) => (value === 0 ? (format || number).format(0) : bounded(value, lowerBound, format));

  function showText(field, text) {
    for (const element of document.querySelectorAll(`[data-field="${field}"]`)) element.textContent = text ?? '–';
  }
  const cell = value => {
    const td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '–' : String(value);
    return td;
  };

  function table(id, rows) {
    const body = document.querySelector(`#${id} tbody`);
    body.replaceChildren(...rows.map(values => {
      const tr = document.createElement('tr');
      tr.append(...values.map(cell));
      return tr;
    }));
  }

  function render(report) {
    labels.push(new Date(report.generated_at).toLocaleTimeString('en-GB'));
    if (labels.length > WINDOW) labels.shift();

    const c = report.cluster;
    show('tenant_tokens_per_minute', report.tenant_tokens_per_minute, whole);
    show('cluster.tokens_per_second', c.tokens_per_second);
    showText('cluster.capacity_tokens_per_second', bounded(c.capacity_tokens_per_second, c.capacity_is_lower_bound));
    showText('cluster.capacity_note', c.capacity_is_lower_bound ? `tokens/s, ${LOWER_BOUND}` : '');
    show('cluster.demand_tokens_per_second', c.demand_tokens_per_second);
    showText('cluster.headroom_tokens_per_second', headroom(c.headroom_tokens_per_second, c.capacity_is_lower_bound));
    showText('cluster.headroom_tenants', headroom(c.headroom_tenants, c.capacity_is_lower_bound, whole));
    show('cluster.slots', c.slots, whole);
    show('cluster.busy_slots', c.busy_slots, whole);
    showText('cluster.slot_utilization', c.slot_utilization === null ? '' : `${percentText(c.slot_utilization)} of the slots busy`);
    show('cluster.headroom_slots', c.headroom_slots, whole);
    show('cluster.queued_jobs', c.queued_jobs, whole);
    show('cluster.running_jobs', c.running_jobs, whole);
    show('cluster.tokens_generated', c.tokens_generated, whole);
    show('cluster.nodes', c.nodes, whole);
    show('cluster.accepting_nodes', c.accepting_nodes, whole);
    document.querySelector('[data-field="cluster.utilization"]').textContent =
      c.utilization === null ? 'not measured yet' : `${number.format(c.utilization * 100)} %`;

    for (const node of report.nodes) {
      record(charts.nodeThroughput, node.node_id, node.node_id, node.tokens_per_second);
      record(charts.utilization, node.node_id, `${node.node_id} throughput`, percent(node.utilization));
      record(charts.utilization, `${node.node_id}/slots`, `${node.node_id} slots`, percent(node.slot_utilization), { borderDash: [5, 4] });
    }
    for (const model of report.models) {
      record(charts.modelThroughput, `${model.model}/supply`, `${model.model} generated`, model.supply.tokens_per_second);
      record(charts.modelThroughput, `${model.model}/demand`, `${model.model} requested`, model.demand.requested_tokens_per_second, { borderDash: [5, 4] });
      record(charts.modelThroughput, `${model.model}/capacity`, `${model.model} capacity`, model.supply.capacity_tokens_per_second, { borderDash: [2, 3] });
      record(charts.queue, `${model.model}/queued`, `${model.model} queued`, model.demand.queued_jobs);
      record(charts.queue, `${model.model}/wait`, `${model.model} oldest wait`, model.demand.oldest_wait_seconds, { yAxisID: 'y1', borderDash: [5, 4] });
    }
    latencyOptions(report.latency.map(l => l.metric));
    for (const latency of report.latency) {
      for (const p of ['p50', 'p90', 'p99']) {
        const color = PALETTE[{ p50: 0, p90: 1, p99: 3 }[p]];
        record(charts.latency, `${latency.metric}/${p}`, p, latency[`${p}_seconds`], { borderColor: color, backgroundColor: color });
      }
    }
    for (const chart of [charts.nodeThroughput, charts.modelThroughput, charts.utilization, charts.queue, charts.latency]) align(chart);
    showLatency();

    charts.topTenants.data.labels = report.top_tenants.map(t => t.tenant_id);
    charts.topTenants.data.datasets[0].data = report.top_tenants.map(t => t.charged);
    charts.topTenants.update('none');
    charts.burnDown.data.labels = report.burn_down.map(t => t.tenant_id);
    charts.burnDown.data.datasets[0].data = report.burn_down.map(t => t.early_by_seconds / 3600);
    charts.burnDown.update('none');

    table('models', report.models.map(m => [
      m.model, number.format(m.demand.requested_tokens_per_second), number.format(m.supply.tokens_per_second),
      bounded(m.supply.capacity_tokens_per_second, m.supply.capacity_is_lower_bound), percentText(m.supply.utilization),
      `${m.supply.busy_slots} / ${m.supply.slots}`,
      m.demand.queued_jobs, number.format(m.demand.oldest_wait_seconds),
      m.demand.expected_wait_seconds === null ? null : number.format(m.demand.expected_wait_seconds),
      headroom(m.headroom_tokens_per_second, m.supply.capacity_is_lower_bound), headroom(m.headroom_tenants, m.supply.capacity_is_lower_bound, whole),
      m.headroom_slots,
    ]));
    table('nodes', report.nodes.map(n => [
      n.node_id, n.provider, n.models.join(', '), number.format(n.tokens_per_second), number.format(n.tokens_per_second_minute),
      n.capacity_is_lower_bound ? `${bounded(n.capacity_tokens_per_second, true)}, ${LOWER_BOUND}` : number.format(n.capacity_tokens_per_second),
      `${number.format(n.peak_batch_size)} of ${n.max_batch_size}`, percentText(n.utilization),
      `${n.active_sequences} / ${n.max_batch_size}`, percentText(n.slot_utilization), n.queued_sequences, n.draining ? 'draining' : 'accepting',
    ]));
    table('burn-down', report.burn_down.map(t => [
      t.tenant_id, whole.format(t.quota), whole.format(t.charged), whole.format(t.remaining), number.format(t.burn_tokens_per_second),
      new Date(t.exhausts_at).toLocaleString('en-GB'), `${number.format(t.early_by_seconds / 3600)} h`,
    ]));
  }

  let inFlight = false;
  async function poll() {
    if (inFlight) return;
    inFlight = true;
    try {
      const tpm = Math.max(1, Math.floor(Number(tpmInput.value) || 10000));
      const response = await fetch(`/v1/capacity?tenant_tpm=${tpm}`, { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (response.status === 401) {
        location.assign('/dashboard'); // the session ended: sign in again
        return;
      }
      if (!response.ok) throw new Error(`GET /v1/capacity answered ${response.status}`);
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
