/// Entry point: decode one captured packet of the given link type.
/// (Implemented by the per-protocol decoders in this module.)
public enum PacketDecoder {
    public static func decode(_ bytes: UnsafeRawBufferPointer, linkType: LinkType) -> DecodedPacket {
        DecodedPacket(linkType: linkType, problem: .invalid(layer: "link", reason: "decoder not written yet"))
    }
}
