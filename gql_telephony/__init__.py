"""gql-telephony: the GraphQL API that connects telephony provider accounts to voice-AI calling."""
