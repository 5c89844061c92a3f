// The GraphQL documents the page sends (schema.graphql names every field used here).

const COUNTS = 'critical warning info';
const CHECK = 'status checkedAt message';
const USER_ERRORS = 'userErrors { field message code }';

export const VIEWER = `query Viewer {
  viewer { organization { id name dataVersion } apiKey { id label readOnly } }
  telephonyProviders {
    key name notes connectivity docsUrl checksAccount importsNumbers
    fields { key label type required secret description placeholder defaultValue choices }
  }
}`;

export const OVERVIEW = `query Overview {
  viewer { organization { id name dataVersion } apiKey { id label readOnly } }
  telephonyConfigWarnings { totalCount hasDefaultOutbound bySeverity { ${COUNTS} } }
  telephonyConfigs(first: 100) {
    totalCount
    nodes {
      id name provider isDefaultOutbound phoneNumberCount
      providerMetadata { name }
      warningCountsBySeverity { ${COUNTS} }
      providerCheck { ${CHECK} }
    }
  }
}`;

export const NUMBERS_PER_PAGE = 20;

export const DETAILS = `query Details($id: ID!, $after: String) {
  telephonyConfig(id: $id) {
    id name provider isDefaultOutbound version config phoneNumberCount
    providerMetadata { key name importsNumbers checksAccount }
    providerCheck { ${CHECK} }
    warnings { code severity message field phoneNumber { phoneNumber } }
    phoneNumbers(first: ${NUMBERS_PER_PAGE}, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id phoneNumber label isActive providerCheck { status } }
    }
    auditEvents(first: 10) {
      nodes { id occurredAt action actor { label system } changes { field } }
    }
  }
}`;

export const CONFIG_FOR_EDIT = `query ConfigForEdit($id: ID!) {
  telephonyConfig(id: $id) { id name provider version config }
}`;

export const CHANGES = 'subscription Changes { organizationChanges { dataVersion events { type entityIds } } }';

export const CREATE_CONFIG = `mutation Create($input: CreateTelephonyConfigInput!) {
  createTelephonyConfig(input: $input) { telephonyConfig { id name } ${USER_ERRORS} }
}`;

export const UPDATE_CONFIG = `mutation Update($input: UpdateTelephonyConfigInput!) {
  updateTelephonyConfig(input: $input) { telephonyConfig { id name version } ${USER_ERRORS} }
}`;

export const DELETE_CONFIG = `mutation Delete($input: DeleteTelephonyConfigInput!) {
  deleteTelephonyConfig(input: $input) { deletedTelephonyConfigId ${USER_ERRORS} }
}`;

export const SET_DEFAULT = `mutation SetDefault($input: SetDefaultOutboundTelephonyConfigInput!) {
  setDefaultOutboundTelephonyConfig(input: $input) { telephonyConfig { id } ${USER_ERRORS} }
}`;

export const CHECK_CONFIG = `mutation Check($input: CheckTelephonyConfigInput!) {
  checkTelephonyConfig(input: $input) { telephonyConfig { id providerCheck { ${CHECK} } } ${USER_ERRORS} }
}`;

export const ADD_NUMBER = `mutation AddNumber($input: AddPhoneNumberInput!) {
  addPhoneNumber(input: $input) { phoneNumber { id phoneNumber } ${USER_ERRORS} }
}`;

export const UPDATE_NUMBER = `mutation UpdateNumber($input: UpdatePhoneNumberInput!) {
  updatePhoneNumber(input: $input) { phoneNumber { id label isActive } ${USER_ERRORS} }
}`;

export const REMOVE_NUMBER = `mutation RemoveNumber($input: RemovePhoneNumberInput!) {
  removePhoneNumber(input: $input) { deletedPhoneNumberId ${USER_ERRORS} }
}`;

export const IMPORT_NUMBERS = `mutation Import($input: ImportPhoneNumbersInput!) {
  importPhoneNumbers(input: $input) { importedCount alreadyRegisteredCount ${USER_ERRORS} }
}`;
