import CSondeNet
import SondeCore

extension ICMPEngine {
    /// The MTU of the link the kernel would send to `destination` over: where a path-MTU search starts. The
    /// link's own, never the route's cached path MTU (which an earlier "fragmentation needed" may have lowered).
    package static func interfaceMTU(towards destination: IPAddress) -> Int? {
        var (address, length) = destination.socketAddress(port: 33_434)
        let mtu = sonde_interface_mtu_towards(&address, length)
        return mtu > 0 ? Int(mtu) : nil
    }
}
