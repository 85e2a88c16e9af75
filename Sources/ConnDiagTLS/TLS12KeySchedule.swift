/// TLS 1.2's keys from the master secret a key log's CLIENT_RANDOM line gives (RFC 5246
/// §6.3): key_block = PRF(master_secret, "key expansion", server_random + client_random),
/// cut into client key, server key, client IV, server IV (AEAD suites have no MAC keys).
public enum TLS12KeySchedule {
    public static func keys(suite: TLSAEADSuite, masterSecret: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8]) -> (client: TLSTrafficKeys, server: TLSTrafficKeys)? {
        let k = suite.keyLength, iv = suite.fixedIVLength
        guard !suite.isTLS13, masterSecret.count == 48, clientRandom.count == 32, serverRandom.count == 32,
              let block = TLSKeyDerivation.tls12PRF(hash: suite.hash, secret: masterSecret, label: "key expansion",
                                                    seed: serverRandom + clientRandom, length: 2 * (k + iv))
        else { return nil }
        return (client: TLSTrafficKeys(key: Array(block[0..<k]), iv: Array(block[(2 * k)..<(2 * k + iv)])),
                server: TLSTrafficKeys(key: Array(block[k..<(2 * k)]), iv: Array(block[(2 * k + iv)..<(2 * k + 2 * iv)])))
    }
}

