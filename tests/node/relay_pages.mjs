// Pages through a connection the way a Relay-style client does: Apollo Client's
// InMemoryCache with relayStylePagination() on Query.employees, first page by a watched
// query, the next ones by fetchMore({after: endCursor}) until hasNextPage is false. Prints
// what the cache merged: the edges' nodes in order, the merged pageInfo, the pages asked.
//
//   node relay_pages.mjs <graphql url> <bearer token> <page size>
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";

const [url, token, size] = process.argv.slice(2);
const first = Number(size);

const EMPLOYEES = gql`
  query Employees($first: Int, $after: String) {
    employees(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          databaseId
          givenName
          familyName
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`;

const client = new ApolloClient({
  link: new HttpLink({ uri: url, headers: { Authorization: `Bearer ${token}` } }),
  cache: new InMemoryCache({
    typePolicies: { Query: { fields: { employees: relayStylePagination() } } },
  }),
});

const watched = client.watchQuery({ query: EMPLOYEES, variables: { first } });
const firstPage = await new Promise((resolve, reject) => {
  const subscription = watched.subscribe({
    next: (result) => {
      if (result.data && !result.loading) {
        resolve(result);
      }
    },
    error: reject,
  });
  process.on("exit", () => subscription.unsubscribe());
});

let current = firstPage.data.employees;
const pages = [current.edges.length];
const asked = [null];
while (current.pageInfo.hasNextPage) {
  const after = current.pageInfo.endCursor;
  const more = await watched.fetchMore({ variables: { first, after } });
  asked.push(after);
  pages.push(more.data.employees.edges.length);
  // what the watched query now reads from the cache: the pages merged by the type policy
  current = client.readQuery({ query: EMPLOYEES, variables: { first } }).employees;
  if (pages.length > 1000) throw new Error("hasNextPage never became false");
}

console.log(
  JSON.stringify({
    nodes: current.edges.map((edge) => edge.node),
    cursors: current.edges.map((edge) => edge.cursor),
    pageInfo: current.pageInfo,
    pages,
    asked,
  }),
);
process.exit(0);
