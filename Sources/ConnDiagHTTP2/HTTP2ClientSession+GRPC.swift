extension HTTP2ClientSession {
    /// Starts a gRPC call: POST `path` ("/pkg.Svc/Method") with the standard gRPC headers.
    /// `message` (already serialised) is framed and sent; with `endStream: false` more
    /// messages can follow through `submitGRPCMessage` (client or bidi streaming).
    @discardableResult
    public func submitGRPCRequest(path: String, authority: String, scheme: String = "http",
                                  message: [UInt8]? = nil, endStream: Bool = true,
                                  timeoutMilliseconds: Int? = nil,
                                  metadata: [HTTP2Header] = []) throws -> Int32 {
        guard GRPCFraming.isValidMethodPath(path) else {
            throw HTTP2SessionError(operation: "submitGRPCRequest", code: 0,
                                    message: "gRPC path must look like /package.Service/Method, got \(path)")
        }
        return try submitRequest(method: "POST", scheme: scheme, authority: authority, path: path,
                                 headers: GRPCFraming.requestHeaders(timeoutMilliseconds: timeoutMilliseconds,
                                                                     metadata: metadata),
                                 body: message.map { GRPCFraming.encodeMessage($0) } ?? [],
                                 endStream: endStream)
    }

    /// Sends one more length-prefixed message on a streaming call.
    public func submitGRPCMessage(stream streamID: Int32, _ message: [UInt8], endStream: Bool = false) throws {
        try submitData(stream: streamID, bytes: GRPCFraming.encodeMessage(message), endStream: endStream)
    }
}
