#!/usr/bin/perl
# debian/pve-balancer.{preinst,postrm}: the diversions of pve-manager's API scripts, of
# libpve-rs-perl's scheduler packages and of pve-manager's web UI template, run against a
# scratch dpkg root (DPKG_ROOT/DPKG_ADMINDIR), never the machine's own.
# tests/package/check-package does the same with real packages in a trixie chroot.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);

my $dpkg_divert = `command -v dpkg-divert 2>/dev/null`;
plan skip_all => 'dpkg-divert not available' if !$dpkg_divert;

my $root = tempdir(CLEANUP => 1);
my $admin = "$root/var/lib/dpkg";
my $dir = "$root/usr/share/perl5/PVE/RS/ResourceScheduling";
my $bin = "$root/usr/bin";
my $www = "$root/usr/share/pve-manager";
make_path($admin, $dir, $bin, $www);
for my $f ('diversions', 'status') {
    open(my $fh, '>', "$admin/$f") or die;
    close($fh);
}
local $ENV{DPKG_ROOT} = $root;
local $ENV{DPKG_ADMINDIR} = $admin;
delete local $ENV{DPKG_MAINTSCRIPT_PACKAGE};

my $probe = `dpkg-divert --list 2>&1`;
plan skip_all => "dpkg-divert does not honour DPKG_ROOT/DPKG_ADMINDIR here: $probe" if $? || $probe ne '';

my $system_before = do { local $ENV{DPKG_ROOT}; local $ENV{DPKG_ADMINDIR}; `dpkg-divert --list '*ResourceScheduling*' 2>&1` };

sub put {
    my ($path, $text) = @_;
    open(my $fh, '>', $path) or die "$path: $!";
    print $fh $text;
    close($fh);
}
sub get {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    local $/;
    return <$fh>;
}
sub script {
    my ($name, @args) = @_;
    my $out = `sh debian/pve-balancer.$name @args 2>&1`;
    return ($? >> 8, $out);
}

put("$dir/Static.pm", "upstream static\n");
put("$dir/Dynamic.pm", "upstream dynamic\n");
my @scripts = qw(pvedaemon pveproxy pvesh);
put("$bin/$_", "pve-manager's $_\n") for @scripts;

my ($rc, $out) = script('preinst', 'install');
is($rc, 0, 'preinst install succeeds') or diag($out);
is(get("$dir/Static.pm.distrib"), "upstream static\n", 'Static.pm moved to Static.pm.distrib');
is(get("$dir/Dynamic.pm.distrib"), "upstream dynamic\n", 'Dynamic.pm moved to Dynamic.pm.distrib');
ok(!-e "$dir/Static.pm", 'the place is free for the shim');
like(`dpkg-divert --list`, qr/Static\.pm to \S+Static\.pm\.distrib by pve-balancer/, 'diversion recorded');
for my $s (@scripts) {
    is(get("$bin/$s.distrib"), "pve-manager's $s\n", "$s moved to $s.distrib");
    ok(!-e "$bin/$s", "the place is free for the $s wrapper");
}
my @list = split(/\n/, `dpkg-divert --list`);
is(scalar(@list), 5, 'five diversions');
is(scalar(grep { m/ by pve-balancer$/ } @list), 5, 'all by pve-balancer');

# dpkg unpacks our shims and wrappers; postinst diverts the UI template and writes its own
put("$dir/Static.pm", "shim\n");
put("$dir/Dynamic.pm", "shim\n");
put("$bin/$_", "wrapper\n") for @scripts;
put("$www/index.html.tpl", "pve-manager's template\n");
is(system('dpkg-divert --package pve-balancer --add --rename --quiet'
    . ' --divert /usr/share/pve-manager/index.html.tpl.distrib /usr/share/pve-manager/index.html.tpl'),
    0, 'template diverted (as postinst does with the web UI)');
put("$www/index.html.tpl", "template with the UI tag\n");

($rc, $out) = script('preinst', 'upgrade', '0.1.0-1');
is($rc, 0, 'preinst upgrade is idempotent') or diag($out);
is(get("$dir/Static.pm"), "shim\n", 'upgrade keeps the shim');

# dpkg removes our files, then postrm
unlink "$dir/Static.pm", "$dir/Dynamic.pm", map { "$bin/$_" } @scripts;
($rc, $out) = script('postrm', 'remove');
is($rc, 0, 'postrm remove succeeds') or diag($out);
is(get("$dir/Static.pm"), "upstream static\n", 'Static.pm is back');
is(get("$dir/Dynamic.pm"), "upstream dynamic\n", 'Dynamic.pm is back');
ok(!-e "$dir/Static.pm.distrib", 'no .distrib left');
is(get("$bin/$_"), "pve-manager's $_\n", "$_ is back") for @scripts;
ok(!-e "$bin/$_.distrib", "no $_.distrib left") for @scripts;
is(get("$www/index.html.tpl"), "pve-manager's template\n", 'the template is pve-manager\'s again');
ok(!-e "$www/index.html.tpl.distrib", 'no index.html.tpl.distrib left');
is(`dpkg-divert --list`, '', 'no diversion left');

($rc, $out) = script('postrm', 'purge');
is($rc, 0, 'postrm purge succeeds') or diag($out);

# install without libpve-rs-perl and pve-manager, then an aborted install
unlink "$dir/Static.pm", "$dir/Dynamic.pm", map { "$bin/$_" } @scripts;
($rc, $out) = script('preinst', 'install');
is($rc, 0, 'preinst without libpve-rs-perl') or diag($out);
($rc, $out) = script('postrm', 'abort-install');
is($rc, 0, 'postrm abort-install') or diag($out);
is(`dpkg-divert --list`, '', 'abort-install removes the diversions');

($rc, $out) = script('preinst', 'frobnicate');
isnt($rc, 0, 'preinst rejects an unknown action');

my $system_after = do { local $ENV{DPKG_ROOT}; local $ENV{DPKG_ADMINDIR}; `dpkg-divert --list '*ResourceScheduling*' 2>&1` };
is($system_after, $system_before, "the machine's own diversions are untouched");

done_testing();
