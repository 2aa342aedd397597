import Foundation
import Testing

/// A private test network of four namespaces joined by veth pairs, built once per test process and torn down
/// when it exits. Every address is inside namespaces this file creates (10.77.x / fd00:77:x); nothing else is
/// ever a target.
///
/// ```
///  client ── c0 10.77.1.1        r0 10.77.1.254 ── router ── r1 10.77.2.254 ── e0 10.77.2.2   echo (kernel answers)
///            fd00:77:1::1        fd00:77:1::fe          └─── r2 10.77.3.254 ── f0 10.77.3.2   faults (kernel echo
///                                                           10.77.5/24 unreachable                off; responder
///                                                           10.77.6/24 prohibit                   answers .10–.28)
///                                                           10.77.7/24 blackhole
/// ```
/// The client namespace has `ping_group_range` open, so unprivileged ping sockets work there; the router
/// namespace keeps the fresh-namespace default (`1 0`, closed).
final class TestNetwork: @unchecked Sendable {
    static let prefix = "sondet\(getpid())"
    let client = prefix + "c"
    let router = prefix + "r"
    let echo = prefix + "e"
    let faults = prefix + "f"
    private var responder: Process?
    private var tcpResponder: Process?
    private var grpcServer: Process?
    /// Where Scripts/install-dependencies puts grpcio and grpcio-health-checking (pinned, from PyPI).
    static let grpcPython = "/opt/sonde-venv-grpc/bin/python3"
    private var dnsFolder: String { "/tmp/\(Self.prefix)-dns" }
    private var webFolder: String { "/tmp/\(Self.prefix)-www" }
    /// The root CA the HTTPS tests trust with `--cacert` (see ``TestCertificates``).
    var testRootCA: String { webFolder + "/tls/root.pem" }
    /// The access log of the server on 10.77.2.4 (which the redirect `/to-denied` points at).
    var deniedServerAccessLog: String { webFolder + "/denied-access.log" }
    /// The PEM file of the root that signed the test servers' chains (``TestCertificates/rootFile``).
    var certificateRoot: String { webFolder + "/tls/root.pem" }
    /// A client certificate from that root, and its key, for the server that requires one (`--cert`, `--key`).
    var testClientCertificate: (certificate: String, key: String) { (webFolder + "/tls/client.pem", webFolder + "/tls/client.key") }

    /// Built on first use, off the Swift concurrency pool: suites wait for it without blocking pool threads.
    private static let shared = SharedNetwork()

    /// Namespaces and veth pairs need root; without it the suites skip, saying so. As root a network that
    /// cannot be built is a failure, not a skip.
    static let available = geteuid() == 0

    static let skipReason: Comment = "needs root to create network namespaces and veth pairs (CI runs as root)"

    static func get() async throws -> TestNetwork { try await shared.network() }

    private actor SharedNetwork {
        private var building: Task<TestNetwork, any Error>?

        func network() async throws -> TestNetwork {
            if let building { return try await building.value }
            let task = Task<TestNetwork, any Error> {
                try await withCheckedThrowingContinuation { continuation in
                    DispatchQueue.global().async {
                        continuation.resume(
                            with: Result {
                                let network = TestNetwork()
                                // Registered first, so a network that fails half-way is removed too.
                                TestNetwork.built = network
                                atexit { TestNetwork.built?.destroy() }
                                try network.create()
                                return network
                            })
                    }
                }
            }
            building = task
            return try await task.value
        }
    }

    nonisolated(unsafe) private static var built: TestNetwork?

    private func create() throws {
        removeStaleNetworks()
        for namespace in [client, router, echo, faults] {
            try Shell.run("ip", "netns", "add", namespace)
            try Shell.run("ip", "-n", namespace, "link", "set", "lo", "up")
            // No duplicate address detection: link-local addresses are usable at once, so the first
            // neighbour discovery of a test cannot be lost to a tentative address.
            try sysctl(namespace, "net.ipv6.conf.default.accept_dad=0")
            try sysctl(namespace, "net.ipv6.conf.all.accept_dad=0")
        }
        try Shell.run("ip", "link", "add", "c0", "netns", client, "type", "veth", "peer", "name", "r0", "netns", router)
        try Shell.run("ip", "link", "add", "e0", "netns", echo, "type", "veth", "peer", "name", "r1", "netns", router)
        try Shell.run("ip", "link", "add", "f0", "netns", faults, "type", "veth", "peer", "name", "r2", "netns", router)
        let links: [(String, String, String, String)] = [
            (client, "c0", "10.77.1.1/24", "fd00:77:1::1/64"),
            (router, "r0", "10.77.1.254/24", "fd00:77:1::fe/64"),
            (router, "r1", "10.77.2.254/24", "fd00:77:2::fe/64"),
            (router, "r2", "10.77.3.254/24", "fd00:77:3::fe/64"),
            (echo, "e0", "10.77.2.2/24", "fd00:77:2::2/64"),
            (faults, "f0", "10.77.3.2/24", "fd00:77:3::2/64"),
        ]
        for (namespace, device, v4, v6) in links {
            try Shell.run("ip", "-n", namespace, "addr", "add", v4, "dev", device)
            try Shell.run("ip", "-n", namespace, "addr", "add", v6, "dev", device, "nodad")
            try Shell.run("ip", "-n", namespace, "link", "set", device, "up")
        }
        // Addresses used only by the path-MTU test, so no other test has taught the kernel their path MTU.
        try Shell.run("ip", "-n", echo, "addr", "add", "10.77.2.3/24", "dev", "e0")
        try Shell.run("ip", "-n", echo, "addr", "add", "fd00:77:2::3/64", "dev", "e0", "nodad")
        // The web server a sidecar's policy denies, whose access log shows what reached it.
        try Shell.run("ip", "-n", echo, "addr", "add", "10.77.2.4/24", "dev", "e0")
        for fault in 10...30 {
            try Shell.run("ip", "-n", faults, "addr", "add", "10.77.3.\(fault)/24", "dev", "f0")
            try Shell.run("ip", "-n", faults, "addr", "add", "fd00:77:3::\(fault)/64", "dev", "f0", "nodad")
        }
        for (namespace, v4, v6) in [
            (client, "10.77.1.254", "fd00:77:1::fe"), (echo, "10.77.2.254", "fd00:77:2::fe"), (faults, "10.77.3.254", "fd00:77:3::fe"),
        ] {
            try Shell.run("ip", "-n", namespace, "route", "add", "default", "via", v4)
            try Shell.run("ip", "-n", namespace, "-6", "route", "add", "default", "via", v6)
        }
        // Extra client addresses: the router rate-limits IPv4 unreachable errors per source address, so the
        // tests that count those errors each send from an address of their own.
        for extra in ["10.77.1.2/24", "10.77.1.3/24"] {
            try Shell.run("ip", "-n", client, "addr", "add", extra, "dev", "c0")
        }
        // A smaller MTU towards the echo host, for path-MTU tests.
        try Shell.run("ip", "-n", router, "link", "set", "r1", "mtu", "1400")
        try Shell.run("ip", "-n", echo, "link", "set", "e0", "mtu", "1400")
        // Names for the client only: `ip netns exec` mounts /etc/netns/<name>/hosts over /etc/hosts.
        try FileManager.default.createDirectory(atPath: "/etc/netns/\(client)", withIntermediateDirectories: true)
        try """
        127.0.0.1 localhost
        ::1 localhost
        10.77.2.2 dual.test shop.test www.shop.test other.test
        fd00:77:2::2 dual.test
        fd00:77:2::2 v6only.test

        """.write(toFile: "/etc/netns/\(client)/hosts", atomically: true, encoding: .utf8)
        try sysctl(router, "net.ipv4.ip_forward=1")
        try sysctl(router, "net.ipv6.conf.all.forwarding=1")
        for (kind, index) in [("unreachable", 5), ("prohibit", 6), ("blackhole", 7)] {
            try Shell.run("ip", "-n", router, "route", "add", kind, "10.77.\(index).0/24")
            try Shell.run("ip", "-n", router, "-6", "route", "add", kind, "fd00:77:\(index)::/64")
        }
        // Errors must not be rate-limited away in tests that count them.
        try sysctl(router, "net.ipv4.icmp_ratelimit=0")
        try sysctl(router, "net.ipv6.icmp.ratelimit=0")
        try sysctl(client, "net.ipv4.ping_group_range=0 2147483647")
        try sysctl(faults, "net.ipv4.icmp_echo_ignore_all=1")
        try sysctl(faults, "net.ipv6.icmp.echo_ignore_all=1")
        try startResponder()
        // Resolve every neighbour once before the tests measure anything.
        for target in ["10.77.2.2", "fd00:77:2::2", "10.77.3.10", "fd00:77:3::10"] {
            _ = try? Shell.capture(["ip", "netns", "exec", client, Sonde.binary, "ping", "-q", "-c", "1", "-W", "2", target])
        }
    }

    /// The link-local address of `device` in `namespace`.
    func linkLocal(_ namespace: String, _ device: String) throws -> String {
        let output = try Shell.run("ip", "-n", namespace, "-6", "-o", "addr", "show", "dev", device, "scope", "link").output
        guard let field = output.split(separator: " ").first(where: { $0.hasPrefix("fe80:") }) else {
            throw TestNetworkError.command("no link-local address on \(device)")
        }
        return String(field.split(separator: "/")[0])
    }

    private func sysctl(_ namespace: String, _ setting: String) throws {
        try Shell.run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w", setting)
    }

    /// Where the fault responder keeps count of what it sent.
    var responderStats: String { "/tmp/\(Self.prefix)-responder.json" }

    /// Packets the fault responder has sent for `fault` over `family` (4 or 6) so far: proof that a reply a test
    /// expects Sonde to ignore was really sent.
    func responderSent(fault: Int, family: Int) -> Int {
        guard let data = FileManager.default.contents(atPath: responderStats),
            let counts = (try? JSONSerialization.jsonObject(with: data)) as? [String: Int]
        else { return 0 }
        return counts["\(family):\(fault)"] ?? 0
    }

    private func startResponder() throws {
        responder = try startScript("icmp_responder.py", in: faults, arguments: ["--stats", responderStats])
        tcpResponder = try startScript("echo_services.py", in: echo)
        try startDNSServer()
        try startWebServer()
        // After the web server: it mints the certificates.
        guard FileManager.default.isExecutableFile(atPath: Self.grpcPython) else {
            throw TestNetworkError.command("\(Self.grpcPython) is missing: run Scripts/install-dependencies (it installs grpcio for the gRPC tests)")
        }
        grpcServer = try startScript(
            "grpc_health_server.py", in: echo, interpreter: Self.grpcPython,
            arguments: ["--cert", webFolder + "/tls/good.pem", "--key", webFolder + "/tls/good.key"])
    }

    /// nginx in the echo namespace: port 80 on 10.77.2.2 and [fd00:77:2::2], port 8080 for cross-host redirects.
    /// `/` says hello; `/hop1` redirects three times (to `/hop2`, to `www.shop.test/hop3`, to `/index.html`), `/to-denied`
    /// to 10.77.2.4 (its own server, with an access log); `/moved` (301), `/elsewhere` (302 to `http://dual.test:8080/`), `/loop` (302 to itself) and
    /// `/meta` (302 to the cloud metadata address) redirect; `/down` answers 503, `/drop` closes without a
    /// response (nginx's 444), `/echo` answers with the method, Host, X-Sonde header and body length it got,
    /// `/big` is 300,000 bytes (`/gzip` the same, compressed and chunked for a client that accepts gzip; `/deflate`,
    /// `/deflate-raw` and `/br` the same in those codings, whatever the client asks; `/bomb` 64 MiB of zeros as
    /// gzip), `/secure` redirects to `https://shop.test:8443/`. HTTPS on 10.77.2.2 with certificates
    /// minted for the run (``TestCertificates``): 8443 a good chain for shop.test, 8444 an expired leaf, 8445 a leaf
    /// for another name, 8446 a self-signed one, 8447 the good leaf without its intermediate, 8448 TLS 1.2 only,
    /// 8449 a leaf not yet valid, 8450 the good chain and a client certificate required (from the test root), 8451 the
    /// good chain with HTTP/2 (8443 offers HTTP/1.1 only).
    /// TCP with TLS (nginx's stream and mail modules): 9993 sends a banner over TLS and closes; 143 is IMAP with
    /// STARTTLS (the good chain); 853 is DNS over TLS, dnsmasq's TCP behind the good chain.
    private func startWebServer() throws {
        let folder = webFolder
        let certificates = try TestCertificates(folder: folder + "/tls")
        let tlsServers = zip(8443..., TestCertificates.servers).map { port, name in
            """
                server {
                    listen 10.77.2.2:\(port) ssl;
                    ssl_certificate \(certificates.folder)/\(name).pem;
                    ssl_certificate_key \(certificates.folder)/\(name).key;
                    root \(folder)/www;
                }
            """
        }.joined(separator: "\n")
        try FileManager.default.createDirectory(atPath: "\(folder)/www", withIntermediateDirectories: true)
        try "hello sonde\n".write(toFile: "\(folder)/www/index.html", atomically: true, encoding: .utf8)
        try String(repeating: "0123456789", count: 30_000).write(toFile: "\(folder)/www/big", atomically: true, encoding: .utf8)
        // /big in each coding, by encoders that are not Sonde's (zlib-wrapped and raw deflate, Brotli), and a
        // decompression bomb: 64 MiB of zeros in 64 KiB of gzip.
        try Shell.run(
            "sh", "-c",
            "cd \(folder)/www && python3 -c 'import zlib; data = open(\"big\", \"rb\").read(); "
                + "open(\"big.zz\", \"wb\").write(zlib.compress(data, 9)); "
                + "raw = zlib.compressobj(9, zlib.DEFLATED, -15); open(\"big.deflate\", \"wb\").write(raw.compress(data) + raw.flush())' "
                + "&& brotli -f -o big.br big && head -c 67108864 /dev/zero | gzip -9 > bomb.gz")
        let good = (certificates.folder + "/good.pem", certificates.folder + "/good.key")
        try """
        load_module /usr/lib/nginx/modules/ngx_stream_module.so;
        load_module /usr/lib/nginx/modules/ngx_mail_module.so;
        daemon on;
        master_process on;
        worker_processes 1;
        user root;
        pid \(folder)/nginx.pid;
        error_log \(folder)/error.log;
        events { worker_connections 256; }
        http {
            access_log off;
            default_type text/plain;
            client_body_temp_path \(folder)/body;
            ssl_protocols TLSv1.2 TLSv1.3;
            server {
                listen 10.77.2.2:80;
                listen [fd00:77:2::2]:80;
                root \(folder)/www;
                location = /moved { return 301 /index.html; }
                location = /elsewhere { return 302 http://dual.test:8080/; }
                location = /loop { return 302 /loop; }
                location = /meta { return 302 http://169.254.169.254/latest/meta-data/; }
                location = /down { return 503 "down\\n"; }
                location = /drop { return 444; }
                location = /echo { return 200 "$request_method $host $http_x_sonde $content_length\\n"; }
                location = /secure { return 301 https://shop.test:8443/; }
                location = /hop1 { return 302 /hop2; }
                location = /hop2 { return 302 http://www.shop.test/hop3; }
                location = /hop3 { return 302 /index.html; }
                location = /to-denied { return 302 http://10.77.2.4/secret; }
                location = /gzip { gzip on; gzip_types text/plain; gzip_min_length 1; try_files /big =404; }
                location = /deflate { add_header Content-Encoding deflate; try_files /big.zz =404; }
                location = /deflate-raw { add_header Content-Encoding deflate; try_files /big.deflate =404; }
                location = /br { add_header Content-Encoding br; try_files /big.br =404; }
                location = /bomb { add_header Content-Encoding gzip; try_files /bomb.gz =404; }
            }
        \(tlsServers)
            server {
                listen 10.77.2.2:8448 ssl;
                ssl_protocols TLSv1.2;
                ssl_certificate \(certificates.folder)/good.pem;
                ssl_certificate_key \(certificates.folder)/good.key;
                root \(folder)/www;
            }
            server {
                listen 10.77.2.2:8449 ssl;
                ssl_certificate \(certificates.folder)/notyet.pem;
                ssl_certificate_key \(certificates.folder)/notyet.key;
                root \(folder)/www;
            }
            server {
                listen 10.77.2.2:8450 ssl;
                ssl_certificate \(good.0);
                ssl_certificate_key \(good.1);
                ssl_client_certificate \(certificates.rootFile);
                ssl_verify_client on;
                ssl_verify_depth 2;
                location / { return 200 "hello $ssl_client_s_dn\\n"; }
            }
            server {
                listen 10.77.2.2:8451 ssl http2;
                ssl_certificate \(good.0);
                ssl_certificate_key \(good.1);
                root \(folder)/www;
            }
            server {
                listen 10.77.2.4:80;
                access_log \(folder)/denied-access.log;
                location / { return 200 "the denied server\\n"; }
            }
            server {
                listen 10.77.2.2:8080;
                listen [fd00:77:2::2]:8080;
                location / { return 200 "elsewhere\\n"; }
            }
        }
        stream {
            ssl_protocols TLSv1.2 TLSv1.3;
            server {
                listen 10.77.2.2:9993 ssl;
                ssl_certificate \(good.0);
                ssl_certificate_key \(good.1);
                return "* OK sonde TLS banner\\n";
            }
            server {
                listen 10.77.2.2:853 ssl;
                ssl_certificate \(good.0);
                ssl_certificate_key \(good.1);
                proxy_pass 10.77.2.2:53;
            }
        }
        mail {
            server_name mail.shop.test;
            auth_http 127.0.0.1:9/auth;
            ssl_protocols TLSv1.2 TLSv1.3;
            ssl_certificate \(good.0);
            ssl_certificate_key \(good.1);
            server {
                listen 10.77.2.2:143;
                protocol imap;
                starttls only;
            }
        }

        """.write(toFile: "\(folder)/nginx.conf", atomically: true, encoding: .utf8)
        try Shell.run("ip", "netns", "exec", echo, "nginx", "-c", "\(folder)/nginx.conf", "-e", "\(folder)/error.log")
        // Ready when it answers, asked by curl (not by the code under test).
        for attempt in 0..<50 {
            let answered = system("ip netns exec \(client) curl -fsS -m 1 -o /dev/null http://10.77.2.2/ 2>/dev/null")
            if answered == 0 { break }
            guard attempt < 49 else { throw TestNetworkError.command("nginx did not answer on 10.77.2.2:80: \(folder)/error.log") }
            usleep(100_000)
        }
    }

    /// dnsmasq in the echo namespace, on 10.77.2.2 and fd00:77:2::2 port 53, with a zone covering every record
    /// type `sonde dns` decodes, a name too large for a 512-byte UDP answer, search-list names, NXDOMAIN under
    /// `test.` and `cluster.local.`, and `fail.test.` forwarded to an upstream that answers SERVFAIL.
    /// The client's resolv.conf points at it with a pod-like search list and `ndots:5`.
    private func startDNSServer() throws {
        let folder = dnsFolder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // 2,000 addresses for one name: an answer of ~32 KB of compressed records (over TCP), to show that a
        // report lists a bounded number of them and counts the rest.
        try (0..<2000).map { "10.78.\($0 / 250).\($0 % 250 + 1) huge.test" }.joined(separator: "\n")
            .write(toFile: "\(folder)/huge.hosts", atomically: true, encoding: .utf8)
        let big = (0..<4).map { "\"" + String(repeating: Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))), count: 200) + "\"" }
        try """
        no-resolv
        no-hosts
        port=53
        listen-address=10.77.2.2
        listen-address=fd00:77:2::2
        bind-interfaces
        addn-hosts=\(folder)/huge.hosts
        local=/test/
        local=/cluster.local/
        server=/fail.test/10.77.2.2#5300
        host-record=www.test,10.77.2.7,fd00:77:2::7
        host-record=api.shop.svc.cluster.local,10.77.2.8
        cname=alias.test,www.test
        mx-host=test,mail.test,10
        txt-record=test,"v=spf1 -all","second string"
        txt-record=big.test,\(big.joined(separator: ","))
        srv-host=_ldap._tcp.test,dc.test,389,1,5
        ptr-record=7.2.77.10.in-addr.arpa,www.test
        dns-rr=test,2,036e7331047465737400
        dns-rr=test,257,0005697373756563612e74657374
        dns-rr=test,6,036e73310474657374000a686f73746d617374657204746573740078c4059100000e1000000258000151800000003c

        """.write(toFile: "\(folder)/dnsmasq.conf", atomically: true, encoding: .utf8)
        try """
        search shop.svc.cluster.local svc.cluster.local cluster.local
        nameserver 10.77.2.2
        options ndots:5 timeout:1 attempts:2

        """.write(toFile: "/etc/netns/\(client)/resolv.conf", atomically: true, encoding: .utf8)
        // dnsmasq daemonises itself (its pid file lets destroy() stop it): a long-running Foundation Process
        // here made later Process waits miss their child's exit.
        try Shell.run(
            "ip", "netns", "exec", echo, "dnsmasq", "--conf-file=\(folder)/dnsmasq.conf",
            "--pid-file=\(folder)/dnsmasq.pid", "--log-facility=\(folder)/dnsmasq.log", "--user=root")
        // Ready when it answers. (system(), not Process: Foundation's child monitoring can miss an exit while
        // another Process is starting.)
        for _ in 0..<50 {
            let answered = system("ip netns exec \(client) \(Sonde.binary) dns --server 10.77.2.2 -W 0.2 --attempts 1 www.test >/dev/null 2>&1")
            if answered == 0 { break }
            usleep(100_000)
        }
    }

    /// Starts one of the helper scripts beside this file in `namespace`, once it says "ready".
    private func startScript(_ name: String, in namespace: String, interpreter: String = "python3", arguments: [String] = []) throws -> Process {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(name)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace, interpreter, script.path, "--lifetime", "1200"] + arguments
        let ready = Pipe()
        process.standardOutput = ready
        try process.run()
        // The script prints "ready" once its sockets are open.
        let line = ready.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).contains("ready") else {
            throw TestNetworkError.command("\(name) did not start (is \(interpreter) installed, with what Scripts/install-dependencies puts there?)")
        }
        return process
    }

    /// Runs at process exit, when Foundation's Process machinery may already be gone: plain system calls.
    func destroy() {
        for helper in [responder, tcpResponder, grpcServer].compactMap({ $0 }) { kill(helper.processIdentifier, SIGKILL) }
        _ = system("kill -9 $(cat \(dnsFolder)/dnsmasq.pid 2>/dev/null) 2>/dev/null")
        _ = system("kill -QUIT $(cat \(webFolder)/nginx.pid 2>/dev/null) 2>/dev/null")
        _ = system("rm -rf /tmp/\(Self.prefix)-dns /tmp/\(Self.prefix)-www /tmp/\(Self.prefix)-responder.json")
        for namespace in [client, router, echo, faults] {
            _ = system("ip netns pids \(namespace) 2>/dev/null | xargs -r kill -9; ip netns del \(namespace) 2>/dev/null")
        }
        _ = system("rm -rf /etc/netns/\(client)")
    }

    /// Namespaces left by a test process that died without cleaning up.
    private func removeStaleNetworks() {
        guard let list = try? Shell.capture("ip", "netns", "list").output else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix("sondet"), let pid = Int32(name.dropFirst(6).dropLast()), kill(pid, 0) != 0 else { continue }
            _ = try? Shell.capture("ip", "netns", "del", name)
            _ = try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
        }
    }
}

enum TestNetworkError: Error, CustomStringConvertible {
    case command(String)

    var description: String {
        switch self {
        case .command(let text): text
        }
    }
}

/// Runs commands with a time limit, capturing their output.
///
/// Tests use the `async` form: it waits off the Swift concurrency pool, so tests running in parallel never
/// starve each other (or the engine tests) of pool threads.
enum Shell {
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    @discardableResult
    static func run(_ arguments: String...) throws -> Result {
        let result = try capture(arguments)
        guard result.status == 0 else {
            throw TestNetworkError.command("\(arguments.joined(separator: " ")) failed (\(result.status)): \(result.error)")
        }
        return result
    }

    static func capture(_ arguments: String...) throws -> Result { try capture(arguments) }

    static func captureAsync(_ arguments: [String], timeout: Double = 60) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Swift.Result { try capture(arguments, timeout: timeout) })
            }
        }
    }

    static func capture(_ arguments: [String], timeout: Double = 60, environment: [String: String]? = nil) throws -> Result {
        let (pid, outputDescriptor, errorDescriptor) = try spawn(
            ["/usr/bin/timeout", "--signal=KILL", String(timeout)] + arguments, environment: environment
        )
        // Read both pipes before waiting, so a chatty child cannot block on a full pipe.
        final class Box: @unchecked Sendable { var data: [UInt8] = [] }
        let outputBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outputBox.data = readAll(outputDescriptor)
            group.leave()
        }
        let errorData = readAll(errorDescriptor)
        group.wait()
        close(outputDescriptor)
        close(errorDescriptor)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(
            status: exitStatus,
            output: String(decoding: outputBox.data, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self)
        )
    }

    /// Starts `command` (looked up on PATH) with stdin from /dev/null and stdout and stderr on pipes; returns the
    /// pid and the read ends. posix_spawn, and a waitpid of the caller's own, not Foundation's Process: its exit
    /// monitoring can miss a child's exit while other Processes (the long-running servers of other suites) start
    /// and stop, and then waitUntilExit never returns.
    static func spawn(_ command: [String], environment: [String: String]? = nil) throws -> (pid: pid_t, output: Int32, error: Int32) {
        var output: [Int32] = [-1, -1]
        var error: [Int32] = [-1, -1]
        // Close-on-exec: a process another thread starts meanwhile (system(), a server) must not inherit the
        // write ends, or reading to end-of-file would wait for it to exit.
        // (The test process starts other processes only through this function, Process and system(); the
        // window between pipe() and fcntl() is a few instructions.)
        guard pipe(&output) == 0, pipe(&error) == 0 else { throw TestNetworkError.command("pipe: \(errno)") }
        for descriptor in output + error { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, error[1], 2)
        let argv = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, command[0], &actions, nil, argv, envp)
        close(output[1])
        close(error[1])
        guard spawned == 0 else {
            close(output[0])
            close(error[0])
            throw TestNetworkError.command("cannot run \(command.joined(separator: " ")): \(spawned)")
        }
        return (pid, output[0], error[0])
    }

    private static func readAll(_ descriptor: Int32) -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                data += buffer[0..<count]
            } else if count < 0, errno == EINTR {
                continue
            } else {
                return data
            }
        }
    }
}
