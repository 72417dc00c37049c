/// Decodes a whole SOAP answer held in memory, exactly as `SOAPClient` decodes one arriving from
/// the network: for benchmarks, fuzzing and replaying captured answers.
public enum SOAPResponseDecoding {
    public static func decode<Decoder: SOAPPayloadDecoder>(
        _ bytes: UnsafeRawBufferPointer, limits: XMLLimits = .default, faultNames: FaultDetailNames,
        decoder makeDecoder: (XMLStreamReader) -> Decoder
    ) throws -> Decoder.Output {
        let reader = XMLStreamReader(limits: limits)
        let handler = SOAPResponseHandler(reader: reader, decoder: makeDecoder(reader), faultNames: faultNames)
        try reader.parse(bytes, handler: handler)
        return try handler.result()
    }
}
