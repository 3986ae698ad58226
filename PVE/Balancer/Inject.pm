package PVE::Balancer::Inject;

# How pve-balancer plugs into pve-manager without changing a byte of pve-manager's files
# (docs/install.md):
#
# - API. The Debian package diverts /usr/bin/pvedaemon, /usr/bin/pveproxy and /usr/bin/pvesh to
#   *.distrib (dpkg-divert, debian/pve-balancer.preinst) and ships a wrapper at each place
#   (wrapper() writes them at build time). A wrapper mounts /cluster/balance
#   (PVE::Balancer::APIRegister), then runs pve-manager's script in the same process with `do`:
#   $0 stays /usr/bin/pvedaemon, so the daemon's re-exec on restart (PVE::Daemon keeps
#   [$0, @ARGV]) comes back through the wrapper. pve-manager upgrades update the *.distrib
#   copies; nothing needs re-applying.
# - Web UI. When the package ships the UI (/usr/share/pve-manager/js/pve-balancer.js), its
#   postinst diverts /usr/share/pve-manager/index.html.tpl to index.html.tpl.distrib and
#   update_template() writes the template pveproxy renders: the .distrib copy plus one script
#   tag. A dpkg trigger on /usr/share/pve-manager runs it again after pve-manager upgrades.
#
# dpkg -V pve-manager stays clean: dpkg verifies a diverted file at its diverted place, which
# holds pve-manager's own bytes. Only core Perl is used: this runs from dpkg maintainer scripts
# and triggers, possibly while Proxmox packages are half upgraded.
#
# SPDX-License-Identifier: AGPL-3.0-or-later

use strict;
use warnings;

use Digest::SHA ();
use Fcntl qw(:flock);
use File::Basename qw(dirname basename);

=head1 NAME

PVE::Balancer::Inject - mount /cluster/balance and the web UI through dpkg diversions

=cut

# pve-manager's scripts that serve or call the API. The wrapper's shebang must match the
# original's: pvedaemon and pveproxy run under taint mode (perl -T), pvesh does not.
our %api_scripts = (
    pvedaemon => { path => '/usr/bin/pvedaemon', taint => 1 },
    pveproxy => { path => '/usr/bin/pveproxy', taint => 1 },
    pvesh => { path => '/usr/bin/pvesh', taint => 0 },
);

# Where dpkg-divert keeps pve-manager's files (the same suffix as for libpve-rs-perl's HA
# scheduler files, see docs/ha.md).
our $distrib_suffix = '.distrib';

# The line every wrapper starts with; also how status() recognises a wrapper.
our $line = 'BEGIN { eval { require PVE::Balancer::APIRegister; }; } # pve-balancer';

our $template = '/usr/share/pve-manager/index.html.tpl';
our $ui_js = '/usr/share/pve-manager/js/pve-balancer.js';

my $marker_re = qr/require\s+PVE::Balancer::APIRegister\b/;
# pve-manager's own bundle; our script goes right after it, so PVE.dc.Config exists when our
# Ext.define override runs, and before the Ext.onReady block that builds the workspace.
my $anchor_re = qr/<script\b[^>]*\bsrc="[^"]*\/pvemanagerlib\.js[^"]*"[^>]*><\/script>/;

my sub read_file {
    my ($file) = @_;

    open(my $fh, '<', $file) or die "unable to read '$file' - $!\n";
    local $/;
    my $content = <$fh>;
    close($fh);
    return $content;
}

# Writes $content to a temporary file next to $file with $mode, then renames it over $file,
# so readers (pveproxy renders the template on every request) never see half a file.
my sub replace_file {
    my ($file, $content, $mode) = @_;

    my $tmp = dirname($file) . "/." . basename($file) . ".pve-balancer.$$";
    eval {
        open(my $fh, '>', $tmp) or die "unable to write '$tmp' - $!\n";
        print $fh $content or die "unable to write '$tmp' - $!\n";
        close($fh) or die "unable to write '$tmp' - $!\n";
        chmod($mode, $tmp) or die "unable to chmod '$tmp' - $!\n";
        rename($tmp, $file) or die "unable to rename '$tmp' to '$file' - $!\n";
    };
    if (my $err = $@) {
        unlink($tmp);
        die $err;
    }
}

=head1 FUNCTIONS

=head3 wrapper($name [, %opts])

The wrapper installed at the place of pve-manager's C<$name> (C<pvedaemon>, C<pveproxy> or
C<pvesh>). It loads C<PVE::Balancer::APIRegister> (which never dies: without pve-balancer the
API just has no C<balance>), then runs the diverted original with C<do>. C<original> overrides
the original's path (tests).

=cut

sub wrapper {
    my ($name, %opts) = @_;

    my $script = $api_scripts{$name} or die "unknown script '$name'\n";
    my $original = $opts{original} // "$script->{path}$distrib_suffix";
    die "original path must be absolute, got '$original'\n" if $original !~ m!^/!;
    die "original path must not contain a quote, got '$original'\n" if $original =~ m/'/;
    my $shebang = '#!/usr/bin/perl' . ($script->{taint} ? ' -T' : '');

    return <<"EOF";
$shebang

# pve-balancer: pve-manager's $name with /cluster/balance mounted.
#
# pve-manager's script is diverted to $original (dpkg-divert, see
# /usr/share/doc/pve-balancer/install.md.gz); this wrapper mounts the API add-on and runs it
# unchanged, in this process, so \$0 and the daemons' re-exec on restart stay here.
# Removing pve-balancer puts the original back.

use strict;
use warnings;

$line

# A module that failed to load above (a broken pve-manager) is loaded again by pve-manager's
# script, which then reports the real error.
BEGIN { delete \@INC{ grep { !defined(\$INC{\$_}) } keys %INC }; }

my \$original = '$original';
do \$original;
die \$@ if \$@;
die "pve-balancer: unable to run '\$original' - \$!\\n" if !-f \$original;
exit(0);
EOF
}

=head3 script_status($name)

The state of pve-manager's script C<$name>: C<wrapped> (our wrapper in place, the original
diverted beside it, with the same taint mode), or C<absent> (no wrapper: the file is
pve-manager's or missing); or a problem: C<wrapped, original missing>, C<wrapped, taint mode
differs from the original>.

=cut

sub script_status {
    my ($name, %opts) = @_;

    my $script = $api_scripts{$name} or die "unknown script '$name'\n";
    my $path = $opts{path} // $script->{path};
    my $original = $opts{original} // "$path$distrib_suffix";

    return 'absent' if !-f $path || read_file($path) !~ $marker_re;
    return 'wrapped, original missing' if !-f $original;

    my ($mine) = split(/\n/, read_file($path), 2);
    my ($theirs) = split(/\n/, read_file($original), 2);
    my $taint = sub { ($_[0] // '') =~ m/^#!.*\bperl\S*\s.*-\w*T/ ? 1 : 0 };
    return 'wrapped, taint mode differs from the original'
        if $taint->($mine) != $taint->($theirs);
    return 'wrapped';
}

=head3 script_tag($js)

The script tag for the UI file C<$js> (default F</usr/share/pve-manager/js/pve-balancer.js>),
with a hash of its content as C<ver>, so browsers fetch it anew after every change.

=cut

sub script_tag {
    my ($js) = @_;

    $js //= $ui_js;
    my $ver = substr(Digest::SHA::sha256_hex(read_file($js)), 0, 12);
    my $name = basename($js);
    return qq{<script type="text/javascript" src="/pve2/js/$name?ver=$ver"></script>};
}

=head3 render_template($distrib_content, $tag)

pve-manager's template with C<$tag> on its own line after the C<pvemanagerlib.js> script tag,
indented like it. Dies if there is no such tag.

=cut

sub render_template {
    my ($content, $tag) = @_;

    $content =~ s/^([ \t]*)($anchor_re[^\n]*\n)/$1$2$1$tag\n/m
        or die "no pvemanagerlib.js script tag to add the pve-balancer UI after\n";
    return $content;
}

=head3 template_status(%opts)

C<diverted, tag present>, C<diverted, tag missing>, or C<not diverted> (the UI is not
installed). Options: C<template>, C<js> (paths, for tests).

=cut

sub template_status {
    my (%opts) = @_;

    my $file = $opts{template} // $template;
    my $js = $opts{js} // $ui_js;
    return 'not diverted' if !-f "$file$distrib_suffix";
    return 'diverted, tag missing' if !-f $file || !-f $js;
    my $name = quotemeta(basename($js));
    return read_file($file) =~ m/<script\b[^>]*src="\/pve2\/js\/$name\?/
        ? 'diverted, tag present'
        : 'diverted, tag missing';
}

=head3 update_template(%opts)

Writes the template pveproxy renders from pve-manager's diverted copy
(F<index.html.tpl.distrib>) plus the script tag of the UI file. Returns C<updated>,
C<unchanged>, or C<not diverted> (nothing done: without the diversion the file is
pve-manager's). Without the UI file, the template is written as pve-manager ships it; so it is
when pve-manager's template has no C<pvemanagerlib.js> tag to add ours after, and then this
dies with the reason: the web UI without the button beats a stale page. Options: C<template>,
C<js> (paths, for tests).

=cut

sub update_template {
    my (%opts) = @_;

    my $file = $opts{template} // $template;
    my $js = $opts{js} // $ui_js;
    my $distrib = "$file$distrib_suffix";

    return 'not diverted' if !-f $distrib;

    # Lock pve-manager's copy: a trigger and a manual run never interleave.
    open(my $lock, '<', $distrib) or die "unable to open '$distrib' - $!\n";
    flock($lock, LOCK_EX) or die "unable to lock '$distrib' - $!\n";

    my $theirs = read_file($distrib);
    my $content = $theirs;
    my $err;
    if (-f $js) {
        $content = eval { render_template($theirs, script_tag($js)) } // $theirs;
        $err = $@;
    }
    my $res = 'unchanged';
    if (!-f $file || read_file($file) ne $content) {
        replace_file($file, $content, (stat($distrib))[2] & 07777);
        $res = 'updated';
    }
    close($lock);
    die $err =~ s/\n\z//r . " - wrote pve-manager's template without the pve-balancer UI\n" if $err;
    return $res;
}

1;
