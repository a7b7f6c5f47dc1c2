// Our own Service Bus namespace (Entra ID only: local/SAS auth disabled) with the topic
// `charger-events` and the subscriptions `tickets` and `finance`.
//
// Publishers set MessageId = CloudEvent id (duplicate detection), SessionId = charger id (both
// subscriptions require sessions, so events of one charger are handled in order) and the
// application property `event_type` = CloudEvent type, which the SQL filters below route on.
// Each subscription's `$Default` rule (match everything) is replaced by its SQL rule.

@description('Service Bus namespace name (globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Topic that carries canonical chargeops events.')
param topicName string

@description('Subscription for ticketing targets (charger, registry and report events).')
param ticketsSubscriptionName string

@description('Subscription for finance targets (session events).')
param financeSubscriptionName string

@description('ISO 8601 duration a message lives before it expires (then it is dead-lettered).')
param messageTimeToLive string

@description('Deliveries before Service Bus dead-letters a message.')
param maxDeliveryCount int

@description('ISO 8601 duration of a message/session lock.')
param lockDuration string

@description('ISO 8601 duration of the duplicate-detection window (message id = CloudEvent id).')
param duplicateDetectionWindow string

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: namespace
  name: topicName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
    supportOrdering: true
    maxSizeInMegabytes: 1024
  }
}

resource tickets 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: ticketsSubscriptionName
  properties: {
    requiresSession: true
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    enableBatchedOperations: true
  }
}

resource ticketsRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2022-10-01-preview' = {
  parent: tickets
  name: '$Default'
  properties: {
    filterType: 'SqlFilter'
    sqlFilter: {
      sqlExpression: 'event_type LIKE \'charger.%\' OR event_type LIKE \'registry.%\' OR event_type LIKE \'report.%\''
    }
  }
}

resource finance 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: financeSubscriptionName
  properties: {
    requiresSession: true
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    enableBatchedOperations: true
  }
}

resource financeRule 'Microsoft.ServiceBus/namespaces/topics/subscriptions/rules@2022-10-01-preview' = {
  parent: finance
  name: '$Default'
  properties: {
    filterType: 'SqlFilter'
    sqlFilter: {
      sqlExpression: 'event_type LIKE \'session.%\''
    }
  }
}

output id string = namespace.id
output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output topicName string = topic.name
output ticketsSubscriptionName string = tickets.name
output financeSubscriptionName string = finance.name
