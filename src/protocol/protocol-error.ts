// The one exception type for malformed or unencodable protocol data. The network layer
// catches it and answers with an error code or closes the connection; any other exception
// type escaping a decoder is a bug in the decoder.

export class ProtocolError extends Error {
  // Kafka error code the server may answer with (INVALID_REQUEST = 42 by default,
  // UNSUPPORTED_VERSION = 35 for unknown versions).
  readonly errorCode: number;

  constructor(message: string, errorCode = 42) {
    super(message);
    this.name = 'ProtocolError';
    this.errorCode = errorCode;
  }
}
