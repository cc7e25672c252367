export default async function subscribe() {
  return { state: {} }
}
