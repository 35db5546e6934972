using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>rtnetlink, for the one thing Berth does with links: move one into a network namespace (and rename it).</summary>
public static unsafe class Netlink
{
    const int AF_NETLINK = 16, SOCK_RAW = 3, NETLINK_ROUTE = 0;
    const ushort RTM_NEWLINK = 16, NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLMSG_ERROR = 2;
    const ushort IFLA_IFNAME = 3, IFLA_NET_NS_FD = 28;

    public static int IndexOf(string name) => (int)Libc.if_nametoindex(name);

    /// <summary>Moves link <paramref name="name"/> into the network namespace <paramref name="netns"/>, named <paramref name="newName"/> there.</summary>
    public static void MoveLink(string name, SafeFd netns, string newName)
    {
        int index = IndexOf(name);
        if (index == 0) throw new LinuxException(Errno.ENODEV, "if_nametoindex", name);
        var ifname = Encoding.ASCII.GetBytes(newName + "\0");
        int attrs = Align(4 + 4) + Align(4 + ifname.Length);
        var msg = new byte[16 + 16 + attrs];
        var s = msg.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)msg.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], RTM_NEWLINK);
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], NLM_F_REQUEST | NLM_F_ACK);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 1);
        // struct ifinfomsg at 16: family, pad, type, index, flags, change.
        BinaryPrimitives.WriteInt32LittleEndian(s[20..], index);
        int off = 32;
        BinaryPrimitives.WriteUInt16LittleEndian(s[off..], 8);
        BinaryPrimitives.WriteUInt16LittleEndian(s[(off + 2)..], IFLA_NET_NS_FD);
        BinaryPrimitives.WriteUInt32LittleEndian(s[(off + 4)..], (uint)netns.Number);
        off += 8;
        BinaryPrimitives.WriteUInt16LittleEndian(s[off..], (ushort)(4 + ifname.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(s[(off + 2)..], IFLA_IFNAME);
        ifname.CopyTo(s[(off + 4)..]);

        using var sock = new SafeFd(LinuxException.ThrowIfError(Libc.socket(AF_NETLINK, SOCK_RAW | O.CLOEXEC, NETLINK_ROUTE), "socket(AF_NETLINK)"));
        Files.WriteAll(sock, msg, "netlink");
        var reply = new byte[4096];
        int n = Files.Read(sock, reply);
        if (n >= 20 && BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(4)) == NLMSG_ERROR)
        {
            int err = -BinaryPrimitives.ReadInt32LittleEndian(reply.AsSpan(16));
            if (err != 0) throw new LinuxException(err, "RTM_NEWLINK", name);
        }
    }

    static int Align(int n) => (n + 3) & ~3;
}

