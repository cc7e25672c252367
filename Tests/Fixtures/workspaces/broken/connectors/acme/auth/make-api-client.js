export default async function makeApiClient({ credentials }) { return { baseUri: "https://api.acme.test" } }
