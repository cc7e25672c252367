export default async function unsubscribe() {}
