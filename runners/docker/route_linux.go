//go:build linux

package docker

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// dropDefaultRoutes deletes every IPv4 default route in the network
// namespace of process pid (the container's init). Docker before 25 gives a
// container on an --internal bridge network a default route via the
// bridge's address (moby/moby#46603); the engine's iptables rules drop what
// goes out through it, but the sandbox promises no route out at all. It
// needs the rights to enter that namespace (root on the engine's host). It
// returns how many routes it deleted.
func dropDefaultRoutes(pid int) (n int, err error) {
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return 0, err
	}
	defer target.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// This goroutine's thread enters the namespace and never comes
		// back: it stays locked, so the runtime ends the thread with it.
		runtime.LockOSThread()
		if err = unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			err = fmt.Errorf("enter the network namespace of pid %d: %w", pid, err)
			return
		}
		n, err = deleteDefaults()
	}()
	<-done
	return n, err
}

// deleteDefaults lists the main table's IPv4 routes over netlink and
// deletes those with a zero-length destination.
func deleteDefaults() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	msgs, err := request(fd, unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, unix.RtMsg{Family: unix.AF_INET}, nil)
	if err != nil {
		return 0, fmt.Errorf("list routes: %w", err)
	}
	n := 0
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWROUTE || len(m.Data) < unix.SizeofRtMsg {
			continue
		}
		var rt unix.RtMsg
		rt.Family, rt.Dst_len, rt.Src_len, rt.Tos = m.Data[0], m.Data[1], m.Data[2], m.Data[3]
		rt.Table, rt.Protocol, rt.Scope, rt.Type = m.Data[4], m.Data[5], m.Data[6], m.Data[7]
		if rt.Dst_len != 0 || rt.Table != unix.RT_TABLE_MAIN {
			continue
		}
		// As `ip route del default`: prefix 0/0 of the main table, any
		// type, protocol and scope.
		del := unix.RtMsg{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Scope: unix.RT_SCOPE_NOWHERE}
		if _, err := request(fd, unix.RTM_DELROUTE, unix.NLM_F_REQUEST|unix.NLM_F_ACK, del, nil); err != nil {
			return n, fmt.Errorf("delete the default route: %w", err)
		}
		n++
	}
	return n, nil
}

func request(fd int, typ uint16, flags uint16, rt unix.RtMsg, attrs []byte) ([]syscall.NetlinkMessage, error) {
	body := []byte{rt.Family, rt.Dst_len, rt.Src_len, rt.Tos, rt.Table, rt.Protocol, rt.Scope, rt.Type, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(body[8:], rt.Flags)
	body = append(body, attrs...)
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out []syscall.NetlinkMessage
	buf := make([]byte, 1<<16)
	for {
		nr, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:nr])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
						return out, unix.Errno(-code)
					}
				}
				return out, nil // an ACK
			}
			out = append(out, m)
		}
	}
}
