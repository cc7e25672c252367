export default function makeApiClient({ credentials }) {
  return { baseUri: 'https://api.rotating.example.com', headers: { Authorization: `Bearer ${credentials.access_token}` } }
}
