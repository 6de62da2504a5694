//go:build !linux

package docker

import "errors"

func dropDefaultRoutes(pid int) (int, error) {
	return 0, errors.New("removing a container's default route needs Linux")
}
