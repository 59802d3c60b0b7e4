package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// mirrors are the Debian archive and security archive URIs. They are taken
// from the machine's own apt sources, so the matrix uses whatever mirror
// the machine is set up with (SIGGUARD_DEBIAN_MIRROR and
// SIGGUARD_DEBIAN_SECURITY_MIRROR override them).
type mirrors struct {
	debian   string
	security string
}

// forSuite is the archive that serves a suite.
func (m mirrors) forSuite(suite string) string {
	if strings.HasSuffix(suite, "-security") {
		return m.security
	}
	return m.debian
}

func findMirrors() (mirrors, error) {
	var m mirrors
	for _, uri := range machineSourceURIs() {
		uri = strings.TrimSuffix(uri, "/")
		switch {
		case strings.HasSuffix(uri, "/debian-security") && m.security == "":
			m.security = uri
		case strings.HasSuffix(uri, "/debian") && m.debian == "":
			m.debian = uri
		}
	}
	if v := os.Getenv("SIGGUARD_DEBIAN_MIRROR"); v != "" {
		m.debian = v
	}
	if v := os.Getenv("SIGGUARD_DEBIAN_SECURITY_MIRROR"); v != "" {
		m.security = v
	}
	if m.debian == "" || m.security == "" {
		return m, errors.New("find the Debian archive: no .../debian and .../debian-security URIs in /etc/apt " +
			"(set SIGGUARD_DEBIAN_MIRROR and SIGGUARD_DEBIAN_SECURITY_MIRROR)")
	}
	return m, nil
}

// machineSourceURIs lists the URIs of /etc/apt's sources, in both the
// one-line and the deb822 formats. Unreadable files are skipped.
func machineSourceURIs() []string {
	files := []string{"/etc/apt/sources.list"}
	for _, pattern := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		more, _ := filepath.Glob(pattern)
		files = append(files, more...)
	}
	var uris []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		uris = append(uris, sourceURIs(string(b))...)
	}
	return uris
}

// sourceURIs reads "deb URI suite..." lines and deb822 "URIs:" fields.
func sourceURIs(text string) []string {
	var uris []string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 2 && fields[0] == "deb":
			uri := fields[1]
			if strings.HasPrefix(uri, "[") { // deb [options] URI
				for i, f := range fields {
					if strings.HasSuffix(f, "]") && i+1 < len(fields) {
						uri = fields[i+1]
						break
					}
				}
			}
			uris = append(uris, uri)
		case len(fields) >= 2 && fields[0] == "URIs:":
			uris = append(uris, fields[1:]...)
		}
	}
	return uris
}
