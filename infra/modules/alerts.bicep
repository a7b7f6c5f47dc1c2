// Alerts on chargeops itself, all to one action group (email and/or webhook from parameters):
//
//   dead-letters      our topic's subscriptions hold dead-lettered messages (Service Bus metric)
//   no-ingest         the ingest function has not run for ingestSilenceMinutes (Zaptec silent,
//                     its key or host changed, or the trigger stopped)
//   function-failures a function's failed invocations reach failureRatePercent
//   health-degraded   what the health endpoint reports as degraded or down, read from telemetry:
//                     the endpoint answering 503, failed registry refreshes, parked Zaptec
//                     messages, events committed but not published
//
// The log alerts query the Application Insights component (requests: one per invocation, never
// sampled, host.json excludes Request from sampling; customMetrics: the app's OpenTelemetry
// counters chargeops.messages, chargeops.events, chargeops.published).
// Checked offline with pycep and checkov only: the queries have not run against a workspace.

@description('Prefix of the alert resource names.')
param namePrefix string

@description('Azure region of the log alert rules.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Application Insights component the log alerts query.')
param applicationInsightsName string

@description('Service Bus namespace holding our topic and its subscriptions.')
param serviceBusNamespaceName string

@description('Email address of the action group ("" = no email receiver).')
param alertEmail string

@description('Webhook URL of the action group ("" = no webhook receiver).')
param alertWebhookUrl string

@description('Minutes without an ingest invocation before the no-ingest alert fires.')
param ingestSilenceMinutes int

@description('Percentage of failed invocations of one function (15 minutes) that fires the failure alert.')
param failureRatePercent int

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: serviceBusNamespaceName
}

var emailReceivers = empty(alertEmail) ? [] : [
  {
    name: 'email'
    emailAddress: alertEmail
    useCommonAlertSchema: true
  }
]

var webhookReceivers = empty(alertWebhookUrl) ? [] : [
  {
    name: 'webhook'
    serviceUri: alertWebhookUrl
    useCommonAlertSchema: true
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-alerts'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(namePrefix, 12)
    enabled: true
    emailReceivers: emailReceivers
    webhookReceivers: webhookReceivers
  }
}

// A dead letter stays until `chargeops dlq replay` (or a purge) removes it, so the alert stays
// fired until then and resolves by itself afterwards.
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Messages in the dead-letter queue of our topic\'s subscriptions (tickets, finance): a target kept failing for 10 deliveries, or events expired. Inspect with `chargeops dlq peek`, fix the cause, then `chargeops dlq replay`.'
    severity: 2
    enabled: true
    scopes: [
      namespace.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

resource noIngest 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-no-ingest'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: no ingest'
    description: 'The ingest function (Zaptec\'s Service Bus subscription) has not run for the whole window. Zaptec may be silent, its connection details may have changed (rotate the secret), or the trigger stopped. See docs/deploy.md.'
    severity: 1
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT${ingestSilenceMinutes}M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
requests
| where name == "ingest"
| summarize invocations = count()
'''
          timeAggregation: 'Total'
          metricMeasureColumn: 'invocations'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource functionFailures 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-function-failures'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: function failures'
    description: 'A function failed in at least the configured share of its invocations over 15 minutes (at least 3 invocations). The exceptions are in Application Insights under the function name.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
requests
| summarize total = count(), failed = countif(success == false) by name
| where total >= 3
| extend failure_percent = 100.0 * failed / total
'''
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'failure_percent'
          dimensions: [
            {
              name: 'name'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThanOrEqual'
          threshold: failureRatePercent
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// The health endpoint needs a function key, which the template neither has nor may store in an
// availability test; its findings are visible in telemetry instead. The 1000-event backlog is
// the endpoint's own threshold (shared/app/health.py BACKLOG_STALE).
resource healthDegraded 'Microsoft.Insights/scheduledQueryRules@2021-08-01' = {
  name: '${namePrefix}-health-degraded'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: health degraded'
    description: 'What /api/health reports as degraded or down, seen in telemetry: the endpoint answered 503 (store unreachable), the registry refresh failed, Zaptec messages were parked, or events are committed but not published. Call /api/health for the details.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
let down = requests
    | where name == "health" and resultCode == "503"
    | summarize n = count()
    | extend problem = "health answered 503: the store does not answer";
let refresh = requests
    | where name == "registry_refresh" and success == false
    | summarize n = count()
    | extend problem = "registry refresh failed";
let parked = customMetrics
    | where name == "chargeops.messages" and tostring(customDimensions["outcome"]) == "parked"
    | summarize n = toint(sum(valueSum))
    | extend problem = "Zaptec messages parked (configuration error?)";
let produced = toscalar(customMetrics | where name == "chargeops.events" | summarize sum(valueSum));
let published = toscalar(customMetrics | where name == "chargeops.published" | summarize sum(valueSum));
let backlog = print n = toint(coalesce(produced, 0.0) - coalesce(published, 0.0))
    | where n >= 1000
    | extend problem = "events committed but not published to our topic";
union down, refresh, parked, backlog
| where n > 0
| project problem, n
'''
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'problem'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
output alertRuleNames array = [
  deadLetters.name
  noIngest.name
  functionFailures.name
  healthDegraded.name
]
