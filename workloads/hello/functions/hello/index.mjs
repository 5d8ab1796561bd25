// The smallest useful function: a greeting, plus the context fields that prove the platform passed a Lambda context.
export const handler = async (event, context) => ({
  greeting: 'hello ' + (event?.name ?? 'world'),
  function: context.functionName,
  requestId: context.awsRequestId,
});
