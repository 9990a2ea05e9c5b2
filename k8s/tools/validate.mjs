// Validates Kubernetes objects against the JSON schemas of their apiVersion and kind, as published by the
// kubernetes-models packages (generated from the Kubernetes OpenAPI document and the operators' CRDs).
//
//   node validate.mjs MANIFESTS.yaml [--json OBJECTS.json]
//
// Prints one line per object ("valid Deployment/tokengrid" or "invalid ...: reasons"), writes the parsed objects as a
// JSON array when asked, and exits 1 when any object is invalid or has no known schema, 2 on bad usage.
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// Where the models of groups that are not part of Kubernetes itself live.
const crdPackages = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
};

function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (!/^[A-Za-z0-9]+$/.test(kind) || !/^[a-z0-9]+$/.test(version) || !/^[a-z0-9.-]*$/.test(group)) {
    return null;
  }
  if (group in crdPackages) {
    return `${crdPackages[group]}/${group}/${version}/${kind}`;
  }
  return group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

async function validate(object) {
  const { apiVersion, kind } = object ?? {};
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["apiVersion and kind are required"];
  }
  const path = modulePath(apiVersion, kind);
  let model;
  try {
    model = path && (await import(path))[kind];
  } catch {
    model = undefined;
  }
  if (!model) {
    return [`no schema is known for ${apiVersion} ${kind}`];
  }
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    return [error.message];
  }
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const input = args.find((a, i) => !a.startsWith("--") && (jsonAt < 0 || i !== jsonAt + 1));
if (!input || (jsonAt >= 0 && !jsonPath)) {
  console.error("usage: node validate.mjs MANIFESTS.yaml [--json OBJECTS.json]");
  process.exit(2);
}

const documents = parseAllDocuments(readFileSync(input, "utf8"));
const objects = [];
let failed = 0;
for (const document of documents) {
  if (document.errors.length > 0) {
    console.log(`invalid YAML: ${document.errors.map((e) => e.message).join("; ")}`);
    failed++;
    continue;
  }
  const object = document.toJS();
  if (object === null) {
    continue;
  }
  objects.push(object);
  const name = `${object.kind}/${object.metadata?.name ?? "?"}`;
  const errors = await validate(object);
  if (errors.length === 0) {
    console.log(`valid ${name}`);
  } else {
    failed++;
    console.log(`invalid ${name}: ${errors.join("; ")}`);
  }
}
if (jsonPath) {
  writeFileSync(jsonPath, JSON.stringify(objects, null, 2));
}
if (objects.length === 0) {
  console.log("invalid: no objects");
  failed++;
}
process.exit(failed > 0 ? 1 : 0);
