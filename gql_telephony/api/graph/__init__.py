"""The GraphQL schema: types, roots, context, ids, arguments, limits and errors."""
