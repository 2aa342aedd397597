import SondeCore

/// What the engine tells a session about one of its echo requests.
package enum EchoObservation: Sendable {
    /// The request left the host. Delivered before any observation about its reply.
    case sent(sequence: Int, at: ContinuousClock.Instant)
    /// The kernel refused to send the request.
    case sendFailed(sequence: Int, code: Int32)
    /// No reply within the session's timeout (not delivered for a request already answered).
    case timedOut(sequence: Int)
    /// The schedule is done: no more requests will be sent.
    case allSent
    /// The session's deadline has come.
    case deadlineReached
    case reply(EchoReply)
    /// A reply whose ICMP checksum is wrong (raw IPv4 only: the kernel checks it everywhere else).
    case corrupted(sequence: Int, from: IPAddress, bytes: Int, ttl: Int?, rttMicroseconds: Int)
    /// An ICMP error about the request, from the router or host that reported it, timed as a reply is.
    case icmpError(sequence: Int, from: IPAddress, family: AddressFamily, type: UInt8, code: UInt8, mtu: UInt32, rttMicroseconds: Int)
    /// A local error reported for a request after it was sent (ping sockets' error queue).
    case localError(sequence: Int, code: Int32, mtu: UInt32)
}

/// One echo reply, matched to the request it answers.
package struct EchoReply: Sendable {
    package var sequence: Int
    package var from: IPAddress
    /// ICMP message length (header + data), as `ping` prints it.
    package var bytes: Int
    package var ttl: Int?
    package var rttMicroseconds: Int
    /// A further copy of a reply already seen.
    package var duplicate: Bool
    /// The reply came from an address other than the one probed.
    package var differentAddress: Bool
    /// Shorter than the request.
    package var truncated: Bool
    /// The first data byte that differs from what was sent.
    package var wrongData: WrongData?
}

/// A data byte in a reply that differs from the request (`ping`'s "wrong data byte").
public struct WrongData: Sendable, Codable, Equatable {
    /// Offset within the ICMP data (after the 8-byte header).
    public var offset: Int
    public var expected: UInt8
    public var actual: UInt8
}
