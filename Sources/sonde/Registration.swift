import DNSProbe
import PingProbe
import SondeCore
import TCPProbe

/// The probes compiled into `sonde`. Adding a probe: a module that conforms to `Probe`, plus one line here.
enum Registration {
    static func makeRegistry(icmp: ICMPEngine) -> ProbeRegistry {
        ProbeRegistry([
            PingProbe(engine: icmp),
            TCPConnectProbe(),
            DNSProbe(),
        ])
    }
}
