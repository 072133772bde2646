// Evaluates a batch of IAM requests with @cloud-copilot/iam-simulate.
//
// stdin:  {"cases": [{"id", "principal", "action", "resource", "resourceAccount",
//           "context", "identityPolicies": [{"name", "policy"}], "resourcePolicy",
//           "endpointPolicies": [{"name", "policy"}]}]}
// stdout: {"results": [{"id", "result", "allowed", "reason"}]}
//
// One process evaluates the whole batch; policy/simulate.py builds the cases
// from a plan. Strict mode: a context key the request does not carry is absent.
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { loadPolicy } from '@cloud-copilot/iam-policy'
// The engine's own modules, for re-evaluating with KMS encryption context (below).
// The package version is pinned in package-lock.json.
import { authorize } from './node_modules/@cloud-copilot/iam-simulate/dist/esm/core_engine/CoreSimulatorEngine.js'
import { normalizeSimulationParameters } from './node_modules/@cloud-copilot/iam-simulate/dist/esm/simulation_engine/simulationEngine.js'
import { AwsRequestImpl } from './node_modules/@cloud-copilot/iam-simulate/dist/esm/request/request.js'
import { RequestContextImpl } from './node_modules/@cloud-copilot/iam-simulate/dist/esm/requestContext.js'
import { DiscoveryContextKeyConstraints } from './node_modules/@cloud-copilot/iam-simulate/dist/esm/context_keys/discoveryContextKeyConstraints.js'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

function statements(analysis, kind) {
  if (!analysis) return []
  const list = analysis[kind] || []
  return list.map((s) => s.statement?.sid?.() ?? s.statement?.index?.() ?? "?")
}

function reason(response) {
  if (response.resultType === 'error') {
    return `simulation error: ${JSON.stringify(response.errors)}`
  }
  const result = response.resultType === 'single' ? response.result : response.results[0]
  return explain(result?.analysis, result?.ignoredContextKeys)
}

function explain(a, ignored) {
  if (!a) return 'no analysis'
  const parts = []
  const add = (label, analysis) => {
    if (!analysis) return
    const allow = statements(analysis, 'allowStatements')
    const deny = statements(analysis, 'denyStatements')
    parts.push(`${label}=${analysis.result}` +
      (allow.length ? ` allow[${allow.join(',')}]` : '') +
      (deny.length ? ` deny[${deny.join(',')}]` : ''))
  }
  add('identity', a.identityAnalysis)
  add('resource', a.resourceAnalysis)
  for (const endpoint of a.endpointAnalysis ? [a.endpointAnalysis] : []) add('endpoint', endpoint)
  if (a.blockedBy) parts.push(`blockedBy=${a.blockedBy.join(',')}`)
  if (ignored?.length) parts.push(`ignoredKeys=${ignored.join(',')}`)
  return parts.join('; ')
}

async function evaluate(c) {
  const simulation = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resourceAccount },
      contextVariables: c.context || {}
    },
    identityPolicies: c.identityPolicies || [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: c.resourcePolicy || undefined,
    vpcEndpointPolicies: c.endpointPolicies?.length ? c.endpointPolicies : undefined
  }
  try {
    const response = await runSimulation(simulation, { simulationMode: 'Strict' })
    let result = response.resultType === 'error' ? 'Error' : response.overallResult
    let why = reason(response)
    // iam-simulate matches variable context keys only after a "/" (aws:PrincipalTag/x),
    // so it drops KMS's kms:EncryptionContext:<key> (e.g. kms:EncryptionContext:aws:logs:arn)
    // as unknown. The request has been validated above (policies, action, resource);
    // evaluate it again with every context key kept.
    const single = response.resultType === 'single' ? response.result : undefined
    const dropped = (single?.ignoredContextKeys || []).filter((k) =>
      k.toLowerCase().startsWith('kms:encryptioncontext:'))
    if (result !== 'Error' && dropped.length) {
      const analysis = await withEncryptionContext(simulation, dropped)
      result = analysis.result
      why = `${explain(analysis)}; evaluated with ${dropped.join(',')}`
    }
    return { id: c.id, result, allowed: result === 'Allowed', reason: why }
  } catch (err) {
    return { id: c.id, result: 'Error', allowed: false, reason: String(err?.stack || err) }
  }
}

// The validated request again, with the KMS encryption-context keys it dropped.
async function withEncryptionContext(simulation, dropped) {
  const { validContextValues } = await normalizeSimulationParameters(simulation, undefined)
  const context = { ...validContextValues }
  for (const key of dropped) context[key] = simulation.request.contextVariables[key]
  const load = (policy, name) => loadPolicy(policy, { name })
  return authorize({
    request: new AwsRequestImpl(
      simulation.request.principal,
      simulation.request.resource,
      simulation.request.action,
      new RequestContextImpl(context),
      false
    ),
    sessionPolicy: undefined,
    identityPolicies: simulation.identityPolicies.map((p) => load(p.policy, p.name)),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: simulation.resourcePolicy ? load(simulation.resourcePolicy, 'resource') : undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: (simulation.vpcEndpointPolicies || []).map((p) => load(p.policy, p.name)),
    simulationParameters: {
      simulationMode: 'Strict',
      discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([])
    },
    serviceSettings: { s3: {} }
  })
}

const input = await readStdin()
const results = []
for (const c of input.cases) results.push(await evaluate(c))
process.stdout.write(JSON.stringify({ results }))
