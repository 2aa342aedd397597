import SondePrivileges
import Testing

@Suite("Privilege reports and users")
struct PrivilegeTests {
    static let status = """
        Name:\tsonde
        Umask:\t0022
        Uid:\t65534\t65534\t65534\t65534
        Gid:\t65534\t65534\t65534\t65534
        Threads:\t3
        CapInh:\t0000000000000000
        CapPrm:\t0000000000002000
        CapEff:\t0000000000002000
        CapBnd:\t0000000000002000
        CapAmb:\t0000000000000000
        NoNewPrivs:\t1
        """

    @Test func readsTheStatusFieldsOperatorsCheck() {
        let report = PrivilegeReport.parse(Self.status)
        #expect(report.uid == 65534 && report.gid == 65534)
        #expect(report.effective == Capabilities.netRawOnly)
        #expect(report.permitted == Capabilities.netRawOnly)
        #expect(report.bounding == Capabilities.netRawOnly)
        #expect(report.inheritable == Capabilities.none && report.ambient == Capabilities.none)
        #expect(report.noNewPrivs)
        #expect(
            report.description
                == "uid=65534 gid=65534 effective=cap_net_raw permitted=cap_net_raw bounding=cap_net_raw inheritable=none ambient=none no_new_privs=1"
        )
    }

    @Test func namesCapabilitySets() {
        #expect(Capabilities.names("0000000000000000") == "none")
        #expect(Capabilities.names("0000000000003000") == "cap_net_admin,cap_net_raw")
        #expect(Capabilities.names("000001ffffffffff").hasSuffix("(41 capabilities)"))
        #expect(Capabilities.names("zz") == "zz")
    }

    @Test func theCurrentThreadCanBeRead() {
        let report = PrivilegeReport.current()
        #expect(report.effective.count == 16)
        #expect(PrivilegeReport.threadCount() >= 1)
    }

    @Test func usersByNameNumberAndGroup() throws {
        #expect(try UnprivilegedUser("nobody").uid == 65534)
        #expect(try UnprivilegedUser("1234:4321") == UnprivilegedUser(uid: 1234, gid: 4321))
        #expect(try UnprivilegedUser("54321").gid == 54321, "an unknown UID takes the same number as group")
        #expect(throws: PrivilegeError.invalidUser("no-such-user-x")) { try UnprivilegedUser("no-such-user-x") }
        #expect(throws: PrivilegeError.invalidUser("1:2:3")) { try UnprivilegedUser("1:2:3") }
        #expect(throws: PrivilegeError.invalidUser("")) { try UnprivilegedUser("") }
        #expect(throws: PrivilegeError.rootUser("root")) { try UnprivilegedUser("root") }
        #expect(throws: PrivilegeError.rootUser("1000:0")) { try UnprivilegedUser("1000:0") }
    }
}
